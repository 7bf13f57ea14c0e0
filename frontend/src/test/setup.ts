import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import "../lib/i18n";

// findBy*/waitFor poll for up to 5 s, not 1 s: the lazily loaded Markdown renderer took longer than
// a second to arrive while the backend suites ran beside these tests (make test-suites). A wait,
// not a time bound: a test that passes still returns as soon as its element is there.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => cleanup());
