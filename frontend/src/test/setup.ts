import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import "../lib/i18n";

// findBy*/waitFor poll for up to 5 s, not 1 s: the lazily loaded Markdown renderer took longer than
// a second to arrive on a loaded 2-core machine (the backend suites beside them). A wait,
// not a time bound: a test that passes still returns as soon as its element is there.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => cleanup());
