export { ConversationSidebar } from "./components/ConversationSidebar";
export { ExportMenu } from "./components/ExportMenu";
export { useConversation, useRefreshConversations, useUpdateConversationSettings } from "./hooks";
export type { Conversation } from "./types";
export { displayTitle } from "./display-title";
