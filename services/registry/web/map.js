// The map: Natural Earth's land outline, actors as points by kind, conventions and projects as
// lines, hotspots ringed by their competition index. Drawn in SVG (plate carrée: x = longitude
// + 180, y = 90 - latitude), zoomed and panned by changing the viewBox.
import { matching, registry } from "./api.js";
import { t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const WORLD = { x: 0, y: 0, width: 360, height: 180 };
export const KINDS = [
  "local_authority",
  "association",
  "migrant_organisation",
  "resource_centre",
  "network",
  "public_body",
  "business",
  "other",
];

function element(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

const project = ([lon, lat]) => [lon + 180, 90 - lat];

function ringPath(ring) {
  return (
    ring
      .map((point, index) => {
        const [x, y] = project(point);
        return `${index ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
      })
      .join("") + "Z"
  );
}

class ViewBox {
  constructor(svg) {
    this.svg = svg;
    this.reset();
  }

  reset() {
    // Europe and Africa, where the demo's cooperation lies.
    this.set({ x: 150, y: 20, width: 90, height: 70 });
  }

  set(box) {
    const width = Math.min(Math.max(box.width, 2), WORLD.width);
    const height = (width * 7) / 9;
    const x = Math.min(Math.max(box.x, WORLD.x), WORLD.width - width);
    const y = Math.min(Math.max(box.y, WORLD.y - 20), WORLD.height - height + 20);
    this.box = { x, y, width, height };
    this.svg.setAttribute("viewBox", `${x} ${y} ${width} ${height}`);
    // Points and lines keep their size on screen whatever the zoom.
    this.svg.style.setProperty("--unit", String(width / 90));
  }

  zoom(factor, cx = this.box.x + this.box.width / 2, cy = this.box.y + this.box.height / 2) {
    const width = this.box.width / factor;
    const height = (width * 7) / 9;
    this.set({
      x: cx - ((cx - this.box.x) * width) / this.box.width,
      y: cy - ((cy - this.box.y) * height) / this.box.height,
      width,
      height,
    });
  }

  pan(dx, dy) {
    this.set({ ...this.box, x: this.box.x + dx, y: this.box.y + dy });
  }
}

function controls(view, container) {
  const bar = document.createElement("div");
  bar.className = "map-controls";
  for (const [label, action] of [
    ["map.zoomIn", () => view.zoom(1.5)],
    ["map.zoomOut", () => view.zoom(1 / 1.5)],
    ["map.reset", () => view.reset()],
  ]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label === "map.reset" ? t(label) : label === "map.zoomIn" ? "+" : "−";
    button.setAttribute("aria-label", t(label));
    button.addEventListener("click", action);
    bar.appendChild(button);
  }
  container.appendChild(bar);
}

function interactions(svg, view) {
  svg.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const rect = svg.getBoundingClientRect();
      const cx = view.box.x + ((event.clientX - rect.left) / rect.width) * view.box.width;
      const cy = view.box.y + ((event.clientY - rect.top) / rect.height) * view.box.height;
      view.zoom(event.deltaY < 0 ? 1.25 : 0.8, cx, cy);
    },
    { passive: false },
  );
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    if (event.target.closest("a")) return;
    drag = { x: event.clientX, y: event.clientY };
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const rect = svg.getBoundingClientRect();
    view.pan(
      ((drag.x - event.clientX) / rect.width) * view.box.width,
      ((drag.y - event.clientY) / rect.height) * view.box.height,
    );
    drag = { x: event.clientX, y: event.clientY };
  });
  svg.addEventListener("pointerup", () => {
    drag = null;
  });
  // Arrow keys pan, + and - zoom, when the map has the focus.
  svg.addEventListener("keydown", (event) => {
    const step = view.box.width / 10;
    const moves = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    if (moves[event.key]) {
      view.pan(...moves[event.key]);
      event.preventDefault();
    } else if (event.key === "+" || event.key === "=") view.zoom(1.5);
    else if (event.key === "-") view.zoom(1 / 1.5);
  });
}

async function hotspots() {
  try {
    return (await matching("/v1/overlaps?limit=200")).items;
  } catch {
    return []; // the map still shows the registry without the matching service
  }
}

export async function renderMap(main) {
  const [world, geo, spots] = await Promise.all([
    fetch("/web/world.json").then((response) => response.json()),
    registry("/v1/exports/map.geojson"),
    hotspots(),
  ]);
  const heading = document.createElement("h1");
  heading.textContent = t("map.title");
  const intro = document.createElement("p");
  intro.textContent = t("map.intro");
  const figure = document.createElement("figure");
  figure.className = "map";
  const svg = element("svg", {
    role: "group",
    "aria-label": t("map.title"),
    tabindex: "0",
    id: "map",
  });
  figure.append(svg);
  main.replaceChildren(heading, intro, figure);

  const view = new ViewBox(svg);
  controls(view, figure);
  interactions(svg, view);

  const land = element("g", { class: "land", "aria-hidden": "true" }, svg);
  element("path", { d: world.rings.map(ringPath).join("") }, land);

  const points = geo.features.filter((feature) => feature.geometry.type === "Point");
  const ties = geo.features.filter((feature) => feature.geometry.type === "LineString");
  const tieLayer = element("g", { class: "ties", "aria-hidden": "true" }, svg);
  for (const tie of ties) {
    const [[x1, y1], [x2, y2]] = tie.geometry.coordinates.map(project);
    element("line", { x1, y1, x2, y2, class: `tie ${tie.properties.type}` }, tieLayer);
  }

  const position = new Map(points.map((p) => [p.properties.id, project(p.geometry.coordinates)]));
  const spotLayer = element("g", { class: "hotspots" }, svg);
  for (const spot of spots) {
    const at = spot.target.id && position.get(spot.target.id);
    if (!at) continue;
    const ring = element("circle", {
      cx: at[0],
      cy: at[1],
      class: "hotspot",
      "data-target": spot.target.id,
    }, spotLayer);
    // Through the CSSOM: the page's policy refuses inline style attributes.
    const size = (1 + Math.sqrt(spot.competition_index)).toFixed(2);
    ring.style.setProperty("r", `calc(var(--unit) * ${size})`);
    element("title", {}, ring).textContent =
      `${spot.target.name} — ${spot.theme} — ${t("map.hotspot", { index: spot.competition_index })}`;
  }

  const pointLayer = element("g", { class: "actors" }, svg);
  for (const point of points) {
    const [x, y] = position.get(point.properties.id);
    const link = element("a", {
      href: `#/acteur/${point.properties.id}`,
      class: `actor ${point.properties.kind}`,
      "data-id": point.properties.id,
    }, pointLayer);
    element("title", {}, link).textContent =
      `${point.properties.name} (${t(`kind.${point.properties.kind}`)})`;
    element("circle", { cx: x, cy: y, class: "dot" }, link);
  }

  const legend = document.createElement("ul");
  legend.className = "legend";
  legend.setAttribute("aria-label", t("map.legend"));
  for (const kind of KINDS.filter((k) => points.some((p) => p.properties.kind === k))) {
    const item = document.createElement("li");
    item.innerHTML = `<span class="swatch ${kind}" aria-hidden="true"></span>`;
    item.append(t(`kind.${kind}`));
    legend.appendChild(item);
  }
  const spotItem = document.createElement("li");
  spotItem.innerHTML = `<span class="swatch hotspot" aria-hidden="true"></span>`;
  spotItem.append(t("map.hotspot", { index: "…" }));
  legend.appendChild(spotItem);
  const counts = document.createElement("p");
  counts.id = "map-counts";
  counts.textContent = t("map.counts", {
    actors: points.length,
    ties: ties.length,
    hotspots: spotLayer.childElementCount,
  });
  figure.append(legend, counts);
}
