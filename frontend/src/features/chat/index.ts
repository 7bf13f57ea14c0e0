export { ChatPage } from "./components/ChatPage";
export { LazyMarkdown } from "./components/LazyMarkdown";
