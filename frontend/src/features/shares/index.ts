export { ShareButton } from "./components/ShareDialog";
export { SharedLinksSection } from "./components/SharedLinksSection";
export { SharedPage } from "./components/SharedPage";
