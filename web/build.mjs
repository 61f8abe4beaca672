// Builds services/registry/web/world.json, the world outline the explorer's map draws, from
// Natural Earth's 1:110m land (public domain), as the npm package world-atlas ships it in
// TopoJSON. `make web` runs it; the result is committed, so `make run` needs no Node.js.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { feature } from "topojson-client";

const require = createRequire(import.meta.url);
const topology = JSON.parse(readFileSync(require.resolve("world-atlas/land-110m.json"), "utf8"));
const land = feature(topology, topology.objects.land);
const geometries = land.type === "FeatureCollection" ? land.features.map((f) => f.geometry) : [land.geometry];
const polygons = geometries.flatMap((g) => (g.type === "MultiPolygon" ? g.coordinates : [g.coordinates]));

// Rings of [longitude, latitude] rounded to 0.1°: about 100 KB, enough for a world map.
const round = (value) => Math.round(value * 10) / 10;
const rings = [];
for (const polygon of polygons) {
  for (const ring of polygon) {
    const points = [];
    for (const [lon, lat] of ring) {
      const point = [round(lon), round(lat)];
      const last = points[points.length - 1];
      if (!last || last[0] !== point[0] || last[1] !== point[1]) points.push(point);
    }
    if (points.length >= 4) rings.push(points);
  }
}
const output = {
  source: "Natural Earth 1:110m land, via the npm package world-atlas 2.0.2 (public domain)",
  rings,
};
// An argument names another file to write (the suite compares it with the committed one).
const target = process.argv[2] || new URL("../services/registry/web/world.json", import.meta.url);
writeFileSync(target, JSON.stringify(output) + "\n");
console.log(`world.json: ${rings.length} rings`);
