// Validates rendered Kubernetes manifests offline against the Kubernetes and prometheus-operator schemas of the
// npm packages kubernetes-models and @kubernetes-models/prometheus-operator:
//   node validate-manifests.mjs --modules <node_modules> rendered.yaml [more.yaml ...]
// Field types, required fields and enums come from the schemas. The packages do not reject unknown fields, so this
// script also records which fields the schema validator reads (a Proxy) and reports every field it never looked at:
// a misspelt or misplaced key (`resource:` for `resources:`) is an error, not a silently ignored setting.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const modulesAt = args.indexOf("--modules");
if (modulesAt < 0 || !args[modulesAt + 1]) {
  console.error("usage: node validate-manifests.mjs --modules <node_modules> file.yaml [...]");
  process.exit(2);
}
const modules = args[modulesAt + 1];
const files = args.filter((_, i) => i !== modulesAt && i !== modulesAt + 1);
const YAML = createRequire(join(modules, "noop.js"))("yaml");

// apiVersion -> folder of the model classes (one module per kind).
function modelPath(apiVersion, kind) {
  if (apiVersion.startsWith("monitoring.coreos.com/"))
    return join(modules, "@kubernetes-models/prometheus-operator", apiVersion, `${kind}.js`);
  if (apiVersion.startsWith("cert-manager.io/"))
    return join(modules, "@kubernetes-models/cert-manager", apiVersion, `${kind}.js`);
  return join(modules, "kubernetes-models", apiVersion, `${kind}.js`);
}

// One proxy per object (the validator reads a field more than once). Objects whose keys are data, not fields (labels,
// ConfigMap data), are iterated by the validator (ownKeys), so every key of those counts as read.
function track(value, read, path, proxies = read.proxies ??= new WeakMap()) {
  if (value === null || typeof value !== "object") return value;
  if (proxies.has(value)) return proxies.get(value);
  const node = { value, path, keys: new Set(), enumerated: false };
  read.push(node);
  const proxy = new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") node.keys.add(key);
      const inner = Reflect.get(target, key, receiver);
      return typeof key === "string" && Object.prototype.hasOwnProperty.call(target, key)
        ? track(inner, read, Array.isArray(target) ? `${path}[${key}]` : `${path}.${key}`)
        : inner;
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
  proxies.set(value, proxy);
  return proxy;
}

let failures = 0;
let checked = 0;
for (const file of files) {
  const documents = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const document of documents) {
    if (document.errors.length > 0) {
      console.error(`${file}: YAML error: ${document.errors[0].message}`);
      failures++;
      continue;
    }
    const manifest = document.toJS();
    if (manifest === null) continue;
    const where = `${file}: ${manifest.kind ?? "?"} ${manifest.metadata?.name ?? "?"}`;
    if (!manifest.apiVersion || !manifest.kind) {
      console.error(`${where}: apiVersion and kind are required`);
      failures++;
      continue;
    }
    let Model;
    try {
      Model = (await import(pathToFileURL(modelPath(manifest.apiVersion, manifest.kind)).href))[manifest.kind];
    } catch {
      console.error(`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
      failures++;
      continue;
    }
    checked++;
    const read = [];
    try {
      Model.prototype.validate.call(track(manifest, read, manifest.kind));
    } catch (error) {
      console.error(`${where}: ${error.message}`);
      failures++;
      continue;
    }
    for (const node of read) {
      if (node.enumerated || Array.isArray(node.value)) continue;
      for (const key of Object.keys(node.value)) {
        if (!node.keys.has(key)) {
          console.error(`${where}: unknown field ${node.path}.${key}`);
          failures++;
        }
      }
    }
  }
}
console.log(`${checked} manifest(s) checked, ${failures} problem(s)`);
process.exit(failures > 0 || checked === 0 ? 1 : 0);
