from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from users.models import Skill, User

# Who may grant power: only a superuser changes these, on anyone (themselves included).
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_client", "is_freelancer", "is_staff", "date_joined"]
    list_filter = ["is_client", "is_freelancer", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    filter_horizontal = ["groups", "user_permissions", "skills"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "timezone", "is_client", "is_freelancer")}),
        (
            "Public profile",
            {"fields": ("headline", "bio", "skills", "portfolio_links", "show_total_earned")},
        ),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")}),)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return readonly + tuple(f for f in PRIVILEGE_FIELDS if f not in readonly)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # Second guard: even if a crafted form reached here, a non-superuser cannot change privileges.
        if not request.user.is_superuser:
            if obj.pk is not None:
                stored = User.objects.get(pk=obj.pk)
                obj.is_staff = stored.is_staff
                obj.is_superuser = stored.is_superuser
            else:
                obj.is_staff = False
                obj.is_superuser = False
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if not request.user.is_superuser:
            # Groups and permissions are many-to-many: drop them from the data saved for a non-superuser.
            for name in ("groups", "user_permissions"):
                form.cleaned_data.pop(name, None)
        super().save_related(request, form, formsets, change)
