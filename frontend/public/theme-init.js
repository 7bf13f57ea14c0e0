// Paints the chosen theme before the app loads, so a dark page never flashes white.
// A file, not an inline script, so the server's Content-Security-Policy (script-src 'self') allows it.
(function () {
  try {
    var theme = localStorage.getItem("conversa.theme") || "system";
    var dark = theme === "dark" || (theme === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.dataset.theme = dark ? "dark" : "light";
    document.documentElement.style.colorScheme = dark ? "dark" : "light";
  } catch (e) {
    document.documentElement.dataset.theme = "light";
  }
})();
