// Markdown to HTML that cannot run script: marked renders, DOMPurify keeps only inert
// markup, and links and images are narrowed further below. The page's CSP (script-src
// 'self') is the second wall: even markup that slipped through could not run inline code.
import { marked } from "./vendor/marked.js";
import DOMPurify from "./vendor/purify.js";

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
