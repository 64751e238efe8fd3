// Runs before uPlot (a plain script, deferred in document order). uPlot makes an
// Intl.NumberFormat from navigator.language when it loads, and WebKitGTK under
// LANG=C (CI, the screenshots, many servers) reports "C", which Intl rejects: uPlot
// would then fail to load at all. Such a language is replaced by a valid one
// (the first of navigator.languages that Intl accepts, else British English, the
// language the core writes in). uPlot's own formats are all replaced by ours, so
// this only lets it start.
(() => {
  const valid = (tag) => {
    try {
      new Intl.NumberFormat(tag);
      return true;
    } catch {
      return false;
    }
  };
  if (valid(navigator.language)) return;
  const language = (navigator.languages ?? []).find(valid) ?? "en-GB";
  try {
    Object.defineProperty(navigator, "language", { value: language, configurable: true });
  } catch {
    // Nothing better to do: the History tab then shows uPlot's absence as its error.
  }
})();
