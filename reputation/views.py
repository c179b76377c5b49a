"""Public profiles (signed-in users only): who someone is, their computed record, their published feedback."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reputation import selectors
from reputation.models import SubjectRole
from users.models import User

FEEDBACK_PER_PAGE = 10


def _profile(request: HttpRequest, *, person: User, role: str, record: object) -> HttpResponse:
    page = Paginator(selectors.feedback_received(user=person, role=role), FEEDBACK_PER_PAGE).get_page(
        request.GET.get("page")
    )
    template = "reputation/freelancer.html" if role == SubjectRole.FREELANCER else "reputation/client.html"
    return render(request, template, {"person": person, "record": record, "feedback_page": page})


@require_GET
@login_required
def freelancer_profile(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = selectors.freelancer_get(user_id=user_id)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    record = selectors.freelancer_records(users=[person])[person.pk]
    return _profile(request, person=person, role=SubjectRole.FREELANCER, record=record)


@require_GET
@login_required
def client_profile(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = selectors.client_get(user_id=user_id)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    record = selectors.client_records(user_ids=[person.pk])[person.pk]
    return _profile(request, person=person, role=SubjectRole.CLIENT, record=record)
