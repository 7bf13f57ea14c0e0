export { ApiKeysSection } from "./components/ApiKeysSection";
