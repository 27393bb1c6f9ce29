// Runs before the first paint: applies the theme the person chose ("light" or "dark");
// with no choice stored, the CSS follows the system through prefers-color-scheme.
(function () {
  try {
    var theme = localStorage.getItem("agentkeep.theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (e) {
    /* storage blocked: follow the system */
  }
})();
