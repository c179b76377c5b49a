from django.urls import path

from contracts import views

app_name = "contracts"

urlpatterns = [
    path("<int:contract_id>/", views.contract_detail, name="detail"),
    path("<int:contract_id>/messages/", views.contract_messages, name="messages"),
    path("<int:contract_id>/activity/", views.contract_activity, name="activity"),
    path("as-<str:role>/", views.contract_list, name="list"),
    path("milestones/as-<str:role>/<slug:step>/", views.milestone_list, name="milestone_list"),
    path("<int:contract_id>/changes/new/", views.change_new_milestone, name="change_new"),
    path("<int:contract_id>/milestones/<int:milestone_id>/change/", views.change_milestone, name="change_milestone"),
    path("<int:contract_id>/changes/<int:change_id>/accept/", views.change_accept, name="change_accept"),
    path("<int:contract_id>/changes/<int:change_id>/decline/", views.change_decline, name="change_decline"),
    path("<int:contract_id>/changes/<int:change_id>/withdraw/", views.change_withdraw, name="change_withdraw"),
    path("<int:contract_id>/end/", views.contract_end, name="end"),
    path("<int:contract_id>/feedback/", views.contract_feedback, name="feedback"),
    path("<int:contract_id>/fund/", views.contract_fund_milestones, name="fund_milestones"),
    path("proposals/<int:proposal_id>/accept/", views.proposal_accept, name="proposal_accept"),
]
