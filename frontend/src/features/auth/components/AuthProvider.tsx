import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { clearToken, getToken, setToken, setUnauthorizedHandler } from "../../../lib/api-client";
import * as api from "../api";
import { AuthContext, type AuthState, type AuthStatus } from "../auth-context";
import type { User } from "../types";

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [user, setUser] = useState<User | null>(null);
  const [status, setStatus] = useState<AuthStatus>(() => (getToken() ? "loading" : "signed-out"));
  const [notice, setNotice] = useState<string | null>(null);

  const signOutWith = useCallback(
    (message: string | null) => {
      clearToken();
      setUser(null);
      setStatus("signed-out");
      setNotice(message);
      queryClient.clear();
    },
    [queryClient],
  );

  useEffect(() => {
    setUnauthorizedHandler(() => signOutWith("auth.sessionExpired"));
    return () => setUnauthorizedHandler(null);
  }, [signOutWith]);

  useEffect(() => {
    if (!getToken()) return;
    let cancelled = false;
    api
      .getMe()
      .then((me) => {
        if (cancelled) return;
        setUser(me);
        setStatus("signed-in");
      })
      .catch(() => {
        if (!cancelled) setStatus((current) => (current === "loading" ? "signed-out" : current));
      });
    return () => {
      cancelled = true;
    };
  }, []);

  const logIn = useCallback(async (email: string, password: string) => {
    const token = await api.login(email, password);
    setToken(token.access_token);
    const me = await api.getMe();
    setUser(me);
    setNotice(null);
    setStatus("signed-in");
  }, []);

  const signUp = useCallback(
    async (email: string, password: string) => {
      await api.register(email, password);
      await logIn(email, password);
    },
    [logIn],
  );

  const logOut = useCallback(() => signOutWith("auth.loggedOut"), [signOutWith]);

  const changePassword = useCallback(async (currentPassword: string, newPassword: string) => {
    const token = await api.changePassword(currentPassword, newPassword);
    setToken(token.access_token); // every older token stopped working
  }, []);

  const value = useMemo<AuthState>(
    () => ({ status, user, notice, logIn, signUp, logOut, changePassword }),
    [status, user, notice, logIn, signUp, logOut, changePassword],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
