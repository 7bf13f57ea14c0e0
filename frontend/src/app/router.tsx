import { lazy, Suspense } from "react";
import { Navigate, Route, Routes, useOutletContext, useParams } from "react-router";
import { AdminRoute } from "../features/admin";
import { RequireAuth } from "../features/auth";
import { ChatPage } from "../features/chat";
import { AppLayout, type LayoutContext } from "./AppLayout";

// Declarative routes (<BrowserRouter>): the app uses no loaders, actions or fetchers, and the data
// router they need cost 16 kB gzip of initial JavaScript (react-router chunk 30.2 -> 14.0 kB).
// Signed-in visits (most of them) never load the sign-in page; a shared link's viewer needs none
// of the app around it.
const AuthPage = lazy(() =>
  import("../features/auth/components/AuthPage").then((module) => ({ default: module.AuthPage })),
);
const SharedPage = lazy(() =>
  import("../features/shares/components/SharedPage").then((module) => ({ default: module.SharedPage })),
);

function ChatRoute() {
  const { conversationId } = useParams();
  const { menuButton } = useOutletContext<LayoutContext>();
  const id = conversationId && /^\d+$/.test(conversationId) ? Number(conversationId) : null;
  return <ChatPage conversationId={id} leading={menuButton} />;
}

function AdminLayoutRoute() {
  const { menuButton } = useOutletContext<LayoutContext>();
  return <AdminRoute leading={menuButton} />;
}

export function AppRoutes() {
  return (
    <Suspense fallback={null}>
      <Routes>
        <Route path="/login" element={<AuthPage mode="login" />} />
        <Route path="/signup" element={<AuthPage mode="signup" />} />
        {/* Public: a shared conversation reads the same signed in or not. */}
        <Route path="/s/:shareId" element={<SharedPage />} />
        <Route
          path="/"
          element={
            <RequireAuth>
              <AppLayout />
            </RequireAuth>
          }
        >
          {/* One element for both paths, so the chat keeps streaming when a new conversation gets its id. */}
          <Route index element={<ChatRoute />} />
          <Route path="c/:conversationId" element={<ChatRoute />} />
          <Route path="admin" element={<AdminLayoutRoute />} />
        </Route>
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
    </Suspense>
  );
}
