"""Where the nodes are: the basin's map folder, and what a results file carries of it (``map_json``).

``map = "map"`` in basin.toml names a folder beside it holding ``nodes.csv`` (``node,lat,lon,source,url,confidence,
note``: one sourced WGS84 point per node) and, optionally, background lines as GeoJSON FeatureCollections of
LineStrings: ``rivers.geojson``, ``borders.geojson``, ``coast.geojson`` (each with its licence in the folder's
README). The map is for display only: it is not part of the basin's identity (sha256) and never changes a result.
A run's results carry it as one attribute (:func:`map_json`), so that charts and reports draw it without the basin.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

from hydro.errors import BasinError, Problem

LAYERS = ("borders", "coast", "rivers")  # drawn in this order
MAP_VERSION = 1


def load(basin) -> dict | None:
    """The basin's map: {"nodes": {node: [lat, lon]}, "confidence": {node: H|M|L}, "layers": {layer: [[[lon, lat],
    ...], ...]}, "licence": text} or None when the basin has no map folder; BasinError naming the file and row for a
    node that is not the basin's, a coordinate out of range or unreadable files."""
    folder = getattr(basin, "map_folder", None)
    return None if folder is None else _load(Path(folder), tuple(basin.nodes))


def _load(folder: Path, node_names: tuple[str, ...]) -> dict:
    path = Path(folder) / "nodes.csv"
    problems = []
    nodes, confidence = {}, {}
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise BasinError([Problem(str(path), "<file>", type(err).__name__, "a readable UTF-8 CSV node,lat,lon,source,url,confidence,note")]) from None
    for i, row in enumerate(rows, start=2):
        name = (row.get("node") or "").strip()
        if name not in node_names:
            problems.append(Problem(str(path), f"line {i}: node", name or "<empty>", "a node of the basin"))
            continue
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (TypeError, ValueError, KeyError):
            problems.append(Problem(str(path), f"line {i}: lat, lon", f"{row.get('lat')}, {row.get('lon')}", "decimal degrees (WGS84)"))
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(Problem(str(path), f"line {i}: lat, lon", f"{lat}, {lon}", "a latitude in -90..90 and a longitude in -180..180"))
            continue
        nodes[name] = [round(lat, 4), round(lon, 4)]
        confidence[name] = (row.get("confidence") or "").strip()
    layers = {}
    for layer in LAYERS:
        p = Path(folder) / f"{layer}.geojson"
        if not p.is_file():
            continue
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            layers[layer] = [f["geometry"]["coordinates"] for f in doc["features"] if f["geometry"]["type"] == "LineString"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            problems.append(Problem(str(p), "<geojson>", type(err).__name__, "a GeoJSON FeatureCollection of LineStrings"))
    if problems:
        raise BasinError(problems)
    licence = " ".join(json.loads((Path(folder) / f"{layer}.geojson").read_text(encoding="utf-8")).get("metadata", {}).get("licence", "")
                       for layer in layers)
    return {"map_version": MAP_VERSION, "nodes": nodes, "confidence": confidence, "layers": layers,
            "licence": f"background lines: GSHHG/WDBII, {licence.split()[0]}" if licence.strip() else ""}


def map_json(basin) -> str:
    """The basin's map as the compact JSON text a results file carries ("" when the basin has none); read once per
    state of the folder's files (a sensitivity analysis makes hundreds of runs of one basin)."""
    folder = getattr(basin, "map_folder", None)
    if folder is None:
        return ""
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(Path(folder).glob("*")) if p.is_file())
    return _map_json(str(folder), tuple(basin.nodes), stamp)


@functools.lru_cache(maxsize=8)
def _map_json(folder: str, node_names: tuple[str, ...], stamp: tuple) -> str:
    return json.dumps(_load(Path(folder), node_names), separators=(",", ":"))


def from_attrs(ds) -> dict | None:
    """The map a results Dataset carries, or None."""
    text = ds.attrs.get("map_json", "")
    if not text:
        return None
    doc = json.loads(text)
    return doc if isinstance(doc, dict) and doc.get("map_version") == MAP_VERSION else None
