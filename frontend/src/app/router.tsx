import { createBrowserRouter, Navigate, useOutletContext, useParams } from "react-router";
import { AdminRoute } from "../features/admin";
import { AuthPage, RequireAuth } from "../features/auth";
import { ChatPage } from "../features/chat";
import { SharedPage } from "../features/shares";
import { AppLayout, type LayoutContext } from "./AppLayout";

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

export const router = createBrowserRouter([
  { path: "/login", element: <AuthPage mode="login" /> },
  { path: "/signup", element: <AuthPage mode="signup" /> },
  // Public: a shared conversation reads the same signed in or not.
  { path: "/s/:shareId", element: <SharedPage /> },
  {
    path: "/",
    element: (
      <RequireAuth>
        <AppLayout />
      </RequireAuth>
    ),
    children: [
      // One element for both paths, so the chat keeps streaming when a new conversation gets its id.
      { index: true, element: <ChatRoute /> },
      { path: "c/:conversationId", element: <ChatRoute /> },
      { path: "admin", element: <AdminLayoutRoute /> },
    ],
  },
  { path: "*", element: <Navigate to="/" replace /> },
]);
