-- Health of an Argo CD Application as its parent (app of apps) sees it, for argocd-cm
-- `resource.customizations.health.argoproj.io_Application` (argocd/argocd-cm-application-health.yaml
-- holds the same script). Argo CD has no health check for Applications by default (argo-cd v3.5.1
-- docs/operator-manual/health.md "Argocd App"); the snippet there reads health only. A parent's sync
-- wave waits while a child is Progressing, so this one also returns Progressing while the child is
-- not Synced or its sync operation still runs, and the child's own health otherwise.
-- Tested with Argo CD's Lua runtime (gopher-lua, loaded as argo-cd util/lua does) in
-- oracle/argocd-health/.
-- The sync status describes the spec Argo CD last compared (`status.sync.comparedTo`, argo-cd v3.5.1
-- controller/state.go:638-655, the sources of the spec at that time): right after the parent changes a
-- child, its status still says Synced for the old spec, so the child is Progressing until the
-- compared sources are the spec's. Argo CD writes `comparedTo.source` even for a multi-source
-- Application: `Source` is a struct, not a pointer (pkg/apis/application/v1alpha1/types.go:1932), and
-- its repoURL has no omitempty (:198), so a status built with only `Sources` (controller/state.go:647-649)
-- reads `source: {repoURL: ""}` (cmd/argocd/commands/admin/app_test.go:183-186). A spec with `sources`
-- is compared on its sources alone, and a source without a repoURL counts as absent.
local function equal(a, b)
  if type(a) ~= type(b) then
    return false
  end
  if type(a) ~= "table" then
    return a == b
  end
  for k, v in pairs(a) do
    if not equal(v, b[k]) then
      return false
    end
  end
  for k, _ in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

local hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the Application's status"
if obj.status == nil then
  return hs
end
local sync = obj.status.sync
if sync == nil or sync.status ~= "Synced" then
  hs.message = "Sync status: " .. ((sync ~= nil and sync.status) or "Unknown")
  return hs
end
local function present(source)
  if type(source) ~= "table" or source.repoURL == nil or source.repoURL == "" then
    return nil
  end
  return source
end

local function nonempty(list)
  if type(list) ~= "table" or next(list) == nil then
    return nil
  end
  return list
end

local spec = obj.spec or {}
local compared = sync.comparedTo
local current
if compared == nil then
  current = false
elseif nonempty(spec.sources) ~= nil then
  current = equal(nonempty(compared.sources), spec.sources)
else
  current = equal(present(compared.source), present(spec.source)) and nonempty(compared.sources) == nil
end
if not current then
  hs.message = "Waiting for Argo CD to compare the current spec"
  return hs
end
local op = obj.status.operationState
if op ~= nil and (op.phase == "Running" or op.phase == "Terminating") then
  hs.message = "Sync operation running: " .. (op.message or "")
  return hs
end
local health = obj.status.health
if health ~= nil and health.status ~= nil then
  hs.status = health.status
  hs.message = health.message or ""
end
return hs
