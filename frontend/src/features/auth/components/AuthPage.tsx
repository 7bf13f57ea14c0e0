import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, useLocation, useNavigate } from "react-router";
import { ApiError } from "../../../lib/api-client";
import { useHealth } from "../hooks";
import { useAuth } from "../auth-context";

export const MIN_PASSWORD_LENGTH = 8;

function authErrorKey(error: unknown, mode: "login" | "signup"): string {
  if (!(error instanceof ApiError)) return "errors.network";
  if (error.status === 401) return "auth.errors.invalidCredentials";
  if (error.status === 409) return "auth.errors.emailTaken";
  if (error.status === 403) return "auth.errors.signupDisabled";
  if (error.status === 429) return "auth.errors.tooManyAttempts";
  if (error.status === 422) return mode === "signup" ? "auth.errors.invalidSignup" : "auth.errors.invalidCredentials";
  return "errors.generic";
}

export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const { t } = useTranslation();
  const { status, notice, logIn, signUp } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const health = useHealth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);

  const allowSignup = health.data?.allow_signup ?? false;
  // Where the person was going (a protected page, or a shared link to continue).
  const from = (location.state as { from?: string } | null)?.from;
  const next = from && from !== "/login" && from !== "/signup" ? from : "/";
  if (status === "signed-in") return <Navigate to={next} replace />;
  if (mode === "signup" && health.data && !allowSignup) return <Navigate to="/login" replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (mode === "signup" && password.length < MIN_PASSWORD_LENGTH) {
      setError(t("auth.errors.passwordTooShort", { count: MIN_PASSWORD_LENGTH }));
      return;
    }
    setSubmitting(true);
    try {
      if (mode === "signup") await signUp(email.trim(), password);
      else await logIn(email.trim(), password);
      navigate(next, { replace: true });
    } catch (caught) {
      setError(t(authErrorKey(caught, mode)));
    } finally {
      setSubmitting(false);
    }
  }

  const title = mode === "signup" ? t("auth.signUpTitle") : t("auth.logInTitle");
  return (
    <main className="auth-screen">
      <form className="auth-card" onSubmit={submit} noValidate={false}>
        <p className="brand" aria-hidden="true">
          Conversa
        </p>
        <h1>{title}</h1>
        {notice && mode === "login" && !error && (
          <p className="notice" role="status">
            {t(notice)}
          </p>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label className="field">
          <span>{t("auth.email")}</span>
          <input
            type="email"
            name="email"
            autoComplete="email"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <div className="field">
          <label htmlFor="auth-password">{t("auth.password")}</label>
          <input
            id="auth-password"
            type="password"
            name="password"
            aria-describedby={mode === "signup" ? "auth-password-hint" : undefined}
            autoComplete={mode === "signup" ? "new-password" : "current-password"}
            required
            minLength={mode === "signup" ? MIN_PASSWORD_LENGTH : undefined}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
          {mode === "signup" && (
            <small id="auth-password-hint">{t("auth.passwordHint", { count: MIN_PASSWORD_LENGTH })}</small>
          )}
        </div>
        <button className="button primary" type="submit" disabled={submitting}>
          {mode === "signup" ? t("auth.signUp") : t("auth.logIn")}
        </button>
        {mode === "login" && allowSignup && (
          <p className="auth-switch">
            {t("auth.noAccount")} <Link to="/signup" state={location.state}>{t("auth.signUp")}</Link>
          </p>
        )}
        {mode === "signup" && (
          <p className="auth-switch">
            {t("auth.haveAccount")} <Link to="/login" state={location.state}>{t("auth.logIn")}</Link>
          </p>
        )}
      </form>
    </main>
  );
}
