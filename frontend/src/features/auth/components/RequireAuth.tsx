import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation } from "react-router";
import { useAuth } from "../auth-context";

export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  const { t } = useTranslation();
  if (status === "loading") {
    return (
      <div className="center-screen" role="status">
        {t("common.loading")}
      </div>
    );
  }
  if (status === "signed-out") return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return children;
}
