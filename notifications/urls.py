from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("unread-count/", views.unread_count, name="unread_count"),
    path("preferences/", views.preferences, name="preferences"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("<int:notification_id>/open/", views.notification_open, name="open"),
    path("<int:notification_id>/read/", views.mark_read, name="mark_read"),
]
