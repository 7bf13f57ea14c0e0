export { ShareButton } from "./components/ShareDialog";
export { SharedLinksSection } from "./components/SharedLinksSection";
