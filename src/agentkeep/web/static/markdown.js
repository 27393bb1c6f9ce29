// Markdown to HTML that cannot run script. Raw HTML in a message is shown as text, never
// parsed (like react-markdown, which agentex-ui uses); marked renders the markdown,
// DOMPurify keeps only inert markup, and links and images are narrowed further below. The
// page's CSP (script-src 'self') is the last wall: nothing inline could run anyway.
import { marked } from "./vendor/marked.js";
import DOMPurify from "./vendor/purify.js";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

marked.use({ renderer: { html: (token) => escapeHtml(token.text) } });

const SAFE_LINK = /^(https?:|mailto:|#)/i;
const SAFE_IMAGE = /^https?:\/\//i;

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const href = node.getAttribute("href") || "";
    if (!SAFE_LINK.test(href)) {
      node.removeAttribute("href");
    } else if (!href.startsWith("#")) {
      // A new tab with no window.opener and no referrer: the linked page cannot reach back.
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  }
  if (node.tagName === "IMG") {
    // Only absolute http(s) images: a relative src would request a path of this server.
    const src = node.getAttribute("src") || "";
    if (!SAFE_IMAGE.test(src)) node.removeAttribute("src");
    node.setAttribute("referrerpolicy", "no-referrer");
    node.setAttribute("loading", "lazy");
  }
});

const PURIFY = {
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option"],
  FORBID_ATTR: ["style", "id", "name"],
};

export function renderMarkdown(text) {
  const html = marked.parse(String(text ?? ""), { gfm: true, breaks: true, async: false });
  return DOMPurify.sanitize(html, PURIFY);
}
