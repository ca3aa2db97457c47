// The archive's search box: Pagefind's index (pagefind/, written by `sphere build`) queried in
// the reader's browser. Nothing leaves the page: no server, no third-party script. Without
// JavaScript, or if the index cannot load, the box stays hidden and the list of issues is all
// there is. Results are built with DOM calls (text, never HTML strings) so a title or an
// excerpt cannot inject markup.

const box = document.getElementById("search");

async function start() {
  const pagefind = await import(new URL(box.dataset.index, document.baseURI).href);
  await pagefind.init();
  const input = box.querySelector("input");
  const status = box.querySelector(".search-status");
  const list = box.querySelector(".search-results");
  box.hidden = false;
  input.addEventListener("input", () => show(pagefind, input.value.trim(), status, list));
}

async function show(pagefind, query, status, list) {
  if (!query) {
    status.textContent = "";
    list.replaceChildren();
    return;
  }
  const search = await pagefind.debouncedSearch(query, {}, 200);
  if (search === null) return; // a newer query replaced this one
  const found = await Promise.all(search.results.slice(0, 10).map((result) => result.data()));
  list.replaceChildren(...found.map(item));
  const count = search.results.length;
  status.textContent = count
    ? `${count} ${count === 1 ? "issue matches" : "issues match"} “${query}”`
    : `No issue matches “${query}”`;
}

function item(data) {
  // Pagefind's URLs are paths from the server's root: it takes the archive's own sub-path
  // (/sphere/issues/slug/) from where pagefind.js was loaded.
  const link = document.createElement("a");
  link.href = new URL(data.url, document.baseURI).href;
  link.textContent = data.meta.title || data.url;
  const heading = document.createElement("h3");
  heading.append(link);
  const excerpt = document.createElement("p");
  excerpt.append(...marked(data.excerpt));
  const li = document.createElement("li");
  li.append(heading, excerpt);
  return li;
}

function marked(excerpt) {
  // Pagefind's excerpt is escaped text with <mark> around the matched words: keep the words
  // and the marks, as text and new elements, and nothing else.
  const parsed = new DOMParser().parseFromString(excerpt, "text/html").body;
  return [...parsed.childNodes].map((node) => {
    if (node.nodeName !== "MARK") return document.createTextNode(node.textContent);
    const mark = document.createElement("mark");
    mark.textContent = node.textContent;
    return mark;
  });
}

if (box) {
  start().catch((error) => {
    box.hidden = true;
    console.warn("search unavailable:", error);
  });
}
