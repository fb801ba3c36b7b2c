"""The accounts app's web routes: signup, login and logout, profile, password change and reset, language,
team."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.forms import AuditedSetPasswordForm, EmailAuthenticationForm

app_name = "accounts"
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/investor/", views.signup_investor, name="signup-investor"),
    path("accounts/signup/clinic/", views.signup_clinic, name="signup-clinic"),
    path("accounts/login/", auth_views.LoginView.as_view(
        template_name="accounts/login.html", authentication_form=EmailAuthenticationForm,
        redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/password/", views.password_change, name="password-change"),
    path("i18n/setlang/", views.set_language, name="set-language"),
    path("accounts/team/", views.team, name="team"),
    path("accounts/team/<int:membership_id>/remove/", views.team_remove, name="team-remove"),
    path("accounts/password-reset/", auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/password_reset_email.txt",
        success_url=reverse_lazy("accounts:password-reset-done")), name="password-reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html"), name="password-reset-done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html", form_class=AuditedSetPasswordForm,
        success_url=reverse_lazy("accounts:password-reset-complete")), name="password-reset-confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"), name="password-reset-complete"),
]
