import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../../components/Dialog";
import { ApiError } from "../../../lib/api-client";
import { useAuth } from "../auth-context";
import { MIN_PASSWORD_LENGTH } from "./AuthPage";

export function ChangePasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { changePassword } = useAuth();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [submitting, setSubmitting] = useState(false);

  function close() {
    setCurrent("");
    setNext("");
    setConfirm("");
    setError(null);
    setDone(false);
    onClose();
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (next.length < MIN_PASSWORD_LENGTH) {
      setError(t("auth.errors.passwordTooShort", { count: MIN_PASSWORD_LENGTH }));
      return;
    }
    if (next !== confirm) {
      setError(t("auth.errors.passwordsDiffer"));
      return;
    }
    setSubmitting(true);
    try {
      await changePassword(current, next);
      setDone(true);
    } catch (caught) {
      setError(t(caught instanceof ApiError && caught.status === 400 ? "auth.errors.wrongPassword" : "errors.generic"));
    } finally {
      setSubmitting(false);
    }
  }

  return (
    <Dialog open={open} title={t("auth.changePassword")} onClose={close}>
      {done ? (
        <>
          <p role="status">{t("auth.passwordChanged")}</p>
          <div className="dialog-actions">
            <button type="button" className="button primary" onClick={close} autoFocus>
              {t("common.close")}
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit}>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <label className="field">
            <span>{t("auth.currentPassword")}</span>
            <input
              type="password"
              autoComplete="current-password"
              required
              value={current}
              onChange={(event) => setCurrent(event.target.value)}
            />
          </label>
          <label className="field">
            <span>{t("auth.newPassword")}</span>
            <input
              type="password"
              autoComplete="new-password"
              required
              minLength={MIN_PASSWORD_LENGTH}
              value={next}
              onChange={(event) => setNext(event.target.value)}
            />
          </label>
          <label className="field">
            <span>{t("auth.confirmPassword")}</span>
            <input
              type="password"
              autoComplete="new-password"
              required
              value={confirm}
              onChange={(event) => setConfirm(event.target.value)}
            />
          </label>
          <div className="dialog-actions">
            <button type="button" className="button" onClick={close}>
              {t("common.cancel")}
            </button>
            <button type="submit" className="button primary" disabled={submitting}>
              {t("common.save")}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
