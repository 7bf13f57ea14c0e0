export { SearchDialog, messageLink } from "./components/SearchDialog";
