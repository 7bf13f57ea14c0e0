import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../../components/Dialog";
import { formatDateTime } from "../../../lib/format";
import { useDebounced } from "../../../lib/use-debounced";
import { useAuth } from "../../auth";
import { ADMIN_NS } from "../admin-i18n";
import * as api from "../api";
import { adminKeys } from "../hooks";
import type { AdminUser } from "../types";

const MIN_PASSWORD = 8;

function CreateUserForm({ onDone }: { onDone: (message: string) => void }) {
  const { t } = useTranslation(ADMIN_NS);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [admin, setAdmin] = useState(false);
  const create = useMutation({
    mutationFn: api.createUser,
    onSuccess: (user) => {
      setEmail("");
      setPassword("");
      setAdmin(false);
      onDone(t("users.createdOne", { email: user.email }));
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ email: email.trim(), password, is_admin: admin });
  }
  return (
    <form className="admin-form" onSubmit={submit} aria-labelledby="admin-create-user">
      <h3 id="admin-create-user">{t("users.createHeading")}</h3>
      <label className="field">
        <span>{t("users.email")}</span>
        <input type="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
      </label>
      <label className="field">
        <span>{t("users.password")}</span>
        <input
          type="password"
          required
          minLength={MIN_PASSWORD}
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
      </label>
      <label className="choice">
        <input type="checkbox" checked={admin} onChange={(event) => setAdmin(event.target.checked)} />
        {t("users.createAdmin")}
      </label>
      <button type="submit" className="button primary" disabled={create.isPending}>
        {t("users.create")}
      </button>
      {create.error && (
        <p className="form-error" role="alert">
          {t("error", { message: create.error.message })}
        </p>
      )}
    </form>
  );
}

function PasswordDialog({ user, onClose, onDone }: { user: AdminUser; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation(ADMIN_NS);
  const [password, setPassword] = useState("");
  const reset = useMutation({ mutationFn: () => api.resetPassword(user.id, password), onSuccess: onDone });
  return (
    <Dialog open title={t("users.newPasswordTitle", { email: user.email })} onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          reset.mutate();
        }}
      >
        <label className="field">
          <span>{t("users.newPassword")}</span>
          <input
            type="password"
            required
            minLength={MIN_PASSWORD}
            autoComplete="new-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoFocus
          />
        </label>
        {reset.error && (
          <p className="form-error" role="alert">
            {t("error", { message: reset.error.message })}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            {t("common.cancel", { ns: "translation" })}
          </button>
          <button type="submit" className="button primary" disabled={reset.isPending}>
            {t("users.setPassword")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ user, onClose, onDone }: { user: AdminUser; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation(ADMIN_NS);
  const [typed, setTyped] = useState("");
  const remove = useMutation({ mutationFn: () => api.deleteUser(user.id), onSuccess: onDone });
  return (
    <Dialog open title={t("users.deleteTitle", { email: user.email })} onClose={onClose}>
      <p>{t("users.deleteMessage")}</p>
      <label className="field">
        <span>{t("users.email")}</span>
        <input value={typed} onChange={(event) => setTyped(event.target.value)} autoFocus />
      </label>
      {remove.error && (
        <p className="form-error" role="alert">
          {t("error", { message: remove.error.message })}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          {t("common.cancel", { ns: "translation" })}
        </button>
        <button
          type="button"
          className="button danger"
          disabled={typed.trim().toLowerCase() !== user.email || remove.isPending}
          onClick={() => remove.mutate()}
        >
          {t("users.deleteConfirm")}
        </button>
      </div>
    </Dialog>
  );
}

/** Accounts: search, create, disable/enable, reset a password, make admin, delete (after typing the email). */
export function UsersSection() {
  const { t, i18n } = useTranslation(ADMIN_NS);
  const { user: me } = useAuth();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState("");
  const query = useDebounced(search.trim(), 250);
  const users = useQuery({ queryKey: adminKeys.users(query), queryFn: () => api.listUsers(query) });
  const [notice, setNotice] = useState<string | null>(null);
  const [passwordFor, setPasswordFor] = useState<AdminUser | null>(null);
  const [deleting, setDeleting] = useState<AdminUser | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: adminKeys.allUsers });
    void queryClient.invalidateQueries({ queryKey: adminKeys.allUsage });
  };
  const change = useMutation({
    mutationFn: ({ user, action }: { user: AdminUser; action: "enable" | "disable" | "admin" | "member" }) =>
      action === "enable" || action === "disable"
        ? api.setActive(user.id, action === "enable")
        : api.setAdmin(user.id, action === "admin"),
    onSuccess: refresh,
  });

  return (
    <section className="admin-section" aria-labelledby="admin-users">
      <h2 id="admin-users">{t("users.heading")}</h2>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {(users.error ?? change.error) && (
        <p className="form-error" role="alert">
          {t("error", { message: (users.error ?? change.error)?.message })}
        </p>
      )}
      <label className="field admin-search">
        <span>{t("users.search")}</span>
        <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      </label>
      <div className="table-scroll">
        <table className="admin-table" data-testid="admin-users">
          <thead>
            <tr>
              <th scope="col">{t("users.email")}</th>
              <th scope="col">{t("users.role")}</th>
              <th scope="col">{t("users.status")}</th>
              <th scope="col">{t("users.created")}</th>
              <th scope="col">{t("users.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.map((user) => {
              const isMe = user.id === me?.id;
              return (
                <tr key={user.id} data-email={user.email}>
                  <th scope="row">
                    {user.email} {isMe && <span className="muted">({t("users.you")})</span>}
                  </th>
                  <td>{t(user.is_admin ? "users.admin" : "users.member")}</td>
                  <td>{t(user.is_active ? "users.active" : "users.disabled")}</td>
                  <td>{formatDateTime(user.created_at, i18n.language)}</td>
                  <td className="admin-actions">
                    {!isMe && (
                      <>
                        <button
                          type="button"
                          className="button small"
                          onClick={() => change.mutate({ user, action: user.is_active ? "disable" : "enable" })}
                        >
                          {t(user.is_active ? "users.disable" : "users.enable")}
                        </button>
                        <button type="button" className="button small" onClick={() => setPasswordFor(user)}>
                          {t("users.resetPassword")}
                        </button>
                        <button
                          type="button"
                          className="button small"
                          onClick={() => change.mutate({ user, action: user.is_admin ? "member" : "admin" })}
                        >
                          {t(user.is_admin ? "users.removeAdmin" : "users.makeAdmin")}
                        </button>
                        <button type="button" className="button small danger" onClick={() => setDeleting(user)}>
                          {t("users.delete")}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {users.data?.length === 0 && <p className="muted">{t("users.none")}</p>}
      <CreateUserForm
        onDone={(message) => {
          setNotice(message);
          refresh();
        }}
      />
      {passwordFor && (
        <PasswordDialog
          user={passwordFor}
          onClose={() => setPasswordFor(null)}
          onDone={() => {
            setNotice(t("users.passwordSet", { email: passwordFor.email }));
            setPasswordFor(null);
          }}
        />
      )}
      {deleting && (
        <DeleteDialog
          user={deleting}
          onClose={() => setDeleting(null)}
          onDone={() => {
            setNotice(t("users.deleted", { email: deleting.email }));
            setDeleting(null);
            refresh();
          }}
        />
      )}
    </section>
  );
}
