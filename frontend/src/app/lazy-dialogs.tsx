import { lazy, Suspense, useState, type ComponentType } from "react";

interface DialogProps {
  open: boolean;
  onClose: () => void;
}

// Dialogs opened on demand load with their first opening, not with the page (initial JS budget).
const SearchDialog = lazy(() =>
  import("../features/search/components/SearchDialog").then((module) => ({ default: module.SearchDialog })),
);
const SettingsDialog = lazy(() =>
  import("../features/settings/components/SettingsDialog").then((module) => ({ default: module.SettingsDialog })),
);
const ChangePasswordDialog = lazy(() =>
  import("../features/auth/components/ChangePasswordDialog").then((module) => ({
    default: module.ChangePasswordDialog,
  })),
);

/** Mounts `Dialog` from its first opening on (then it stays mounted, so closing behaves as before). */
function OnceOpened({ Dialog, open, onClose }: DialogProps & { Dialog: ComponentType<DialogProps> }) {
  const [opened, setOpened] = useState(open);
  if (open && !opened) setOpened(true);
  if (!opened) return null;
  return (
    <Suspense fallback={null}>
      <Dialog open={open} onClose={onClose} />
    </Suspense>
  );
}

export function LazySearchDialog(props: DialogProps) {
  return <OnceOpened Dialog={SearchDialog} {...props} />;
}

export function LazySettingsDialog(props: DialogProps) {
  return <OnceOpened Dialog={SettingsDialog} {...props} />;
}

export function LazyChangePasswordDialog(props: DialogProps) {
  return <OnceOpened Dialog={ChangePasswordDialog} {...props} />;
}
