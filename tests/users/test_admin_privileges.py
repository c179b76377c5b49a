"""Only superusers grant power in admin: staff who may change users cannot promote anyone, themselves included."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.users.factories import UserFactory
from users.admin import UserAdmin
from users.models import User

pytestmark = pytest.mark.django_db


def _change_form_data(user, **overrides):
    data = {
        "email": user.email,
        "display_name": user.display_name,
        "timezone": user.timezone,
        "is_client": "on",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _staff_who_may_change_users():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="change_user", content_type__app_label="users"),
        Permission.objects.get(codename="view_user", content_type__app_label="users"),
    )
    return User.objects.get(pk=user.pk)


def test_staff_with_change_user_cannot_make_themselves_superuser(client):
    # Given a staff member (not a superuser) holding users.change_user
    staff = _staff_who_may_change_users()
    group = Group.objects.create(name="Finance")
    client.force_login(staff)
    url = reverse("admin:users_user_change", args=[staff.pk])
    # When they post their own change form ticking superuser, staff, a group and a permission
    response = client.post(
        url,
        _change_form_data(
            staff,
            is_staff="on",
            is_superuser="on",
            groups=[str(group.pk)],
            user_permissions=[str(Permission.objects.get(codename="delete_user").pk)],
            display_name="Renamed",
        ),
    )
    # Then the save goes through for the ordinary fields but they hold no new power
    assert response.status_code == 302, response.content.decode()[:2000]
    staff.refresh_from_db()
    assert staff.display_name == "Renamed"
    assert staff.is_superuser is False
    assert staff.is_staff is True
    assert list(staff.groups.all()) == []
    assert not staff.user_permissions.filter(codename="delete_user").exists()


def test_the_change_form_shows_privilege_fields_read_only_to_non_superusers(client):
    # Given a staff member holding users.change_user
    staff = _staff_who_may_change_users()
    client.force_login(staff)
    # When they open their own change form
    html = client.get(reverse("admin:users_user_change", args=[staff.pk])).content.decode()
    # Then no input lets them tick superuser or staff status
    assert 'name="is_superuser"' not in html
    assert 'name="is_staff"' not in html
    assert 'name="groups"' not in html


def test_save_model_refuses_a_privilege_change_from_a_non_superuser(rf):
    # Given a staff member (not superuser) and a user object whose flags were changed outside the form
    staff = _staff_who_may_change_users()
    target = UserFactory()
    target.is_superuser = True
    target.is_staff = True
    request = rf.post("/")
    request.user = staff
    # When admin's save_model runs for it
    UserAdmin(User, None).save_model(request, target, form=None, change=True)
    # Then the stored flags are unchanged
    target.refresh_from_db()
    assert target.is_superuser is False and target.is_staff is False


def test_a_superuser_can_change_superuser_status(client):
    # Given a superuser and an ordinary staff member
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    staff = UserFactory(is_staff=True)
    client.force_login(admin_user)
    # When the superuser ticks superuser on the staff member's change form
    response = client.post(
        reverse("admin:users_user_change", args=[staff.pk]),
        _change_form_data(staff, is_staff="on", is_superuser="on"),
    )
    # Then the staff member is now a superuser
    assert response.status_code == 302, response.content.decode()[:2000]
    staff.refresh_from_db()
    assert staff.is_superuser is True
