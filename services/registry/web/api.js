// The only way the page reaches data: the public JSON APIs of the registry (same origin) and
// of the matching service (its URL from /web/config.json), and the key the user pasted.
import { language } from "./i18n.js";

let config = null;

export async function loadConfig() {
  if (config === null) {
    const response = await fetch("/web/config.json");
    config = await response.json();
  }
  return config;
}

export function key() {
  return sessionStorage.getItem("key") || "";
}

export function setKey(value) {
  if (value) sessionStorage.setItem("key", value.trim());
  else sessionStorage.removeItem("key");
}

/** A problem+json answer, thrown with its detail so views can show it. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function call(base, path, { method = "GET", body, auth = false } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": language() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && key()) headers.Authorization = `Bearer ${key()}`;
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { detail: String(error.message || error) });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function registry(path, options) {
  return call("", path, options);
}

export async function matching(path, options) {
  const { matching_url: base } = await loadConfig();
  return call(base.replace(/\/$/, ""), path, options);
}

/** Every item of a registry listing, following its pages (up to `max` items). */
export async function everything(path, max = 5000) {
  const items = [];
  let page = await registry(path);
  items.push(...page.items);
  while (page.next_cursor && items.length < max) {
    const separator = path.includes("?") ? "&" : "?";
    page = await registry(`${path}${separator}cursor=${encodeURIComponent(page.next_cursor)}`);
    items.push(...page.items);
  }
  return items;
}
