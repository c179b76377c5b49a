from django.urls import path

from milestones import views

app_name = "milestones"

urlpatterns = [
    path("<int:pk>/", views.milestone_detail, name="detail"),
    path("<int:pk>/files/<int:file_id>/", views.deliverable_download, name="file_download"),
    # One URL per action (milestones:release, milestones:refund, ...), all POST.
    *[
        path(f"<int:pk>/{name.replace('_', '-')}/", views.milestone_action, {"action": name}, name=name)
        for name in views.ACTIONS
    ],
]
