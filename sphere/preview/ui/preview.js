// The preview page: asks /api/state what to show, and /events when anything changed.
// Everything from the server is put into the page as text (textContent), never as HTML.
"use strict";

(() => {
  const views = {
    desktop: (slug, state) => `/email/${slug}.html?v=${state.stamp}`,
    phone: (slug, state) => `/email/${slug}.html?v=${state.stamp}`,
    dark: (slug, state) => `/email/${slug}.html?scheme=dark&v=${state.stamp}`,
    text: (slug, state) => `/text/${slug}.txt?v=${state.stamp}`,
    archive: (slug, state) => `/archive/issues/${slug}/?v=${state.archive_stamp}`,
  };
  const frames = Array.from(document.querySelectorAll("iframe[data-view]"));
  const byId = (id) => document.getElementById(id);
  let current = decodeURIComponent(location.pathname.replace(/^\/(issue\/?)?/, ""));
  let version = null;
  let busy = false;
  let again = false;

  // Each view is as tall as its document, so the page scrolls, not the frames.
  function fit(frame) {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) {
      frame.style.height = `${Math.max(doc.documentElement.scrollHeight, 120)}px`;
    }
  }
  for (const frame of frames) frame.addEventListener("load", () => fit(frame));

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function showList(state) {
    const items = state.issues.map((issue) => {
      const link = element("a");
      link.href = `/issue/${encodeURIComponent(issue.slug)}`;
      link.append(element("span", issue.title, "title"));
      if (issue.status === "draft") link.append(element("span", "draft", "badge draft"));
      if (issue.broken) link.append(element("span", "error", "badge broken"));
      link.append(element("span", issue.date || "does not load", "meta"));
      if (issue.slug === state.slug) link.setAttribute("aria-current", "page");
      const item = element("li");
      item.append(link);
      return item;
    });
    if (!items.length) items.push(element("li", `No issues in ${state.issues_dir}/`, "meta"));
    byId("issues").replaceChildren(...items);
  }

  function show(state) {
    showList(state);
    if (state.slug && state.slug !== current) {
      current = state.slug;
      history.replaceState(null, "", `/issue/${encodeURIComponent(current)}`);
    }
    byId("title").textContent = state.title || "No issue";
    for (const key of ["subject", "summary", "date", "file"]) {
      byId(key).textContent = state[key] || "";
    }
    byId("state").textContent = state.status || "";
    document.title = `${state.title || "No issue"} · Sphere preview`;
    const error = byId("error");
    error.textContent = state.error || "";
    error.hidden = !state.error;
    document.body.classList.toggle("broken", Boolean(state.error));
    // A broken issue keeps its last good views on screen (dimmed) under the error.
    if (!state.error && state.slug) reload(state.slug, state.stamp, state.archive_stamp);
    version = state.version;
  }

  // Point each view at the issue's current rendering; a view already there is left alone.
  // The desktop view goes first and the others once it has loaded: they share one thread
  // of the browser, and the view at the top left is the one the author is watching.
  function reload(slug, stamp, archiveStamp) {
    const stamps = { stamp, archive_stamp: archiveStamp };
    for (const frame of frames) {
      frame.dataset.url = views[frame.dataset.view](encodeURIComponent(slug), stamps);
    }
    const [first, ...rest] = frames;
    const more = () => rest.forEach(go);
    if (first.dataset.loaded === first.dataset.url) {
      more();
      return;
    }
    first.addEventListener("load", more, { once: true });
    setTimeout(more, 1000); // in case it never finishes loading
    go(first);
  }

  function go(frame) {
    if (frame.dataset.loaded !== frame.dataset.url) {
      frame.dataset.loaded = frame.dataset.url;
      frame.contentWindow.location.replace(frame.dataset.url); // no history entry per reload
    }
  }

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const response = await fetch(`/api/state?issue=${encodeURIComponent(current)}`, {
          cache: "no-store",
        });
        show(await response.json());
      } while (again);
    } catch (error) {
      setStatus(`Cannot reach the preview server (${error})`, true);
    } finally {
      busy = false;
    }
  }

  function setStatus(text, offline) {
    const status = byId("status");
    status.textContent = text;
    status.classList.toggle("offline", offline);
  }

  const events = new EventSource("/events");
  events.addEventListener("open", () => setStatus("Live: saving a file updates this page", false));
  events.addEventListener("error", () => setStatus("Disconnected: is sphere preview running?", true));
  events.addEventListener("change", (event) => {
    const news = JSON.parse(event.data);
    if (news.version === version) return;
    // The server rendered the issue before saying so: reload its views now, not after /api/state.
    const mine = news.issues[current];
    if (mine && mine.ok && !document.body.classList.contains("broken")) {
      reload(current, mine.stamp, news.archive_stamp);
    }
    refresh();
  });
  refresh();
})();
