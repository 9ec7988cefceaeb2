import { createAsync } from "@solidjs/router";
import { createSignal, For, onCleanup, Show } from "solid-js";
import type { SetStoreFunction } from "solid-js/store";
import { useWrite } from "../../actions";
import { ApiError } from "../../api";
import { Icon } from "../../components/Icon";
import { createFormErrors, FormProblems } from "../../forms";
import { formatNumber, plural } from "../../format";
import {
  fetchImport,
  getImportFields,
  saveImportAction,
  updateImportAction,
  uploadImportAction,
  type ImportView,
} from "../../queries/imports";
import { getLists } from "../../queries/lists";
import { getUsers } from "../../queries/users";
import type { Wizard } from "./state";
import "./CsvImport.css";
import { Options } from "../../components/Options";

type Field = NonNullable<ImportView["mapping"][number]>;
/** The mapping choice that keeps a column on each contact as a custom field. */
const CUSTOM = "custom_field";
const DELIMITERS = [
  { value: ",", label: "Comma" },
  { value: ";", label: "Semicolon" },
  { value: "\t", label: "Tab" },
  { value: "|", label: "Pipe (|)" },
] as const;

/**
 * "Add contacts → Upload CSV": pick or drop a file, check how its columns map (every mapping can be
 * changed), choose how rows meet existing contacts, save them (a progress bar while the queue works),
 * then continue with the same options and review as every other source (source: { import_id }).
 */
export function CsvImport(props: { w: Wizard; setW: SetStoreFunction<Wizard> }) {
  const uploadWrite = useWrite(uploadImportAction);
  const updateWrite = useWrite(updateImportAction);
  const saveWrite = useWrite(saveImportAction);
  const writes = [uploadWrite, updateWrite, saveWrite];
  // One place under the file shows the last refusal, of whichever write, or a failed progress read.
  const form = createFormErrors(() => writes.map((w) => w.errors.error()).find(Boolean));
  const clearErrors = () => {
    form.clear();
    for (const w of writes) w.clear();
  };
  const [imp, setImp] = createSignal<ImportView | null>(null);
  const busy = () => uploadWrite.pending() || saveWrite.pending();
  const [dragging, setDragging] = createSignal(false);
  const fields = createAsync(() => getImportFields());
  const users = createAsync(() => getUsers().catch(() => undefined));
  const lists = createAsync(() => getLists().catch(() => undefined));
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));

  // Coming back to this step shows the import already chosen. One continued from the Imports page may not
  // be saved yet: it opens at its mapping (or follows its saving), and is no source to add until it is saved.
  if (props.w.importId)
    void fetchImport(props.w.importId)
      .then((r) => {
        setImp(r.import);
        if (r.import.status === "ready" && r.import.saved > 0) return;
        props.setW("importId", null);
        if (r.import.status === "saving") follow(r.import.id);
      })
      .catch(() => props.setW("importId", null));

  async function upload(file: File | undefined) {
    if (!file) return;
    clearErrors();
    props.setW("importId", null);
    const uploaded = await uploadWrite.run(file);
    if (uploaded) setImp(uploaded);
  }

  // Changes are sent one after the other, so a quick second change never overtakes (or undoes) the first.
  // Save waits for them (and is disabled while any is on its way): a change landing after the save began
  // is refused (409), and the save would have run without it.
  let queue: Promise<void> = Promise.resolve();
  const [changing, setChanging] = createSignal(0);
  function patch(body: Record<string, unknown>) {
    const i = imp();
    if (!i) return queue;
    clearErrors();
    setChanging((n) => n + 1);
    queue = queue.then(async () => {
      try {
        const updated = await updateWrite.run(i.id, body);
        // Refused: show the import as it stands (the screen showed the change before the answer).
        const now =
          updated ??
          (await fetchImport(i.id)
            .then((r) => r.import)
            .catch(() => null));
        if (now) setImp(now);
      } finally {
        setChanging((n) => n - 1);
      }
    });
    return queue;
  }

  // Follows the save until it ends. A failed read (a dropped connection) is shown and tried again, a
  // little later each time: stopping at the first one left the bar frozen while saving went on.
  function follow(id: string, failures = 0) {
    clearTimeout(timer);
    timer = setTimeout(
      async () => {
        let failed: unknown = null;
        const r = await fetchImport(id).catch((e: unknown) => ((failed = e), null));
        if (!r) {
          form.set(failed);
          // A refusal (the import gone, access lost) won't heal by asking again.
          const status = failed instanceof ApiError ? failed.status : 0;
          if (status < 400 || status >= 500) follow(id, failures + 1);
          return;
        }
        if (failures) form.clear();
        setImp(r.import);
        if (r.import.status === "saving") follow(id);
        else if (r.import.status === "ready" && r.import.saved > 0) props.setW("importId", id);
      },
      Math.min(700 * 2 ** failures, 15_000),
    );
  }

  async function save() {
    await queue;
    // A change refused meanwhile stays on screen: saving now would save without it.
    if (updateWrite.errors.error()) return;
    const i = imp();
    if (!i) return;
    clearErrors();
    const saving = await saveWrite.run(i.id);
    if (!saving) return;
    setImp(saving);
    follow(i.id);
  }

  const setColumn = (col: number, value: string) => {
    const m = [...imp()!.mapping];
    // A field fills one column: picking it here frees it elsewhere (any number of columns can be custom fields).
    for (let k = 0; k < m.length; k++) if (value && value !== CUSTOM && m[k] === value) m[k] = null;
    m[col] = (value || null) as Field | null;
    setImp({ ...imp()!, mapping: m }); // shown at once; the answer brings the preview and any problem
    void patch({ mapping: m });
  };
  const firstRowValue = (i: ImportView, col: number) => {
    const contact = i.sample[0]?.contact;
    if (!contact) return "";
    const key = i.custom_keys[col];
    if (key) return contact.custom_fields[key] ?? "";
    return String((contact as Record<string, unknown>)[i.mapping[col] ?? ""] ?? "");
  };
  // A failed save that stopped part-way: the API keeps its mapping and settings (the rest must go in by
  // the same rules), so the screen shows them read-only instead of controls whose changes it refuses.
  const locked = () => imp()?.status === "failed" && imp()!.progress.parts_done > 0;
  const percent = () => {
    const i = imp();
    return i && i.progress.parts ? Math.round((100 * i.progress.parts_done) / i.progress.parts) : 0;
  };

  return (
    <div class="csv-import" data-testid="csv-import">
      <Show when={!imp() || imp()!.status === "uploaded" || imp()!.status === "failed"}>
        <label
          class="dropzone"
          classList={{ "dropzone-active": dragging() }}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            void upload(e.dataTransfer?.files[0]);
          }}
        >
          <Icon name="upload" size={20} />
          <span>
            {busy() ? "Reading the file…" : imp() ? "Drop another CSV file here, or choose one" : "Drop a CSV file here, or choose one"}
          </span>
          <input
            type="file"
            accept=".csv,.tsv,.txt,text/csv"
            data-testid="csv-file"
            onChange={(e) => void upload(e.currentTarget.files?.[0])}
            disabled={busy()}
          />
        </label>
        <p class="muted small">
          Up to 50 MB and 100,000 rows; comma, semicolon, tab or | separated; UTF-8 or Windows-1252. Needs an <strong>Email</strong> column,
          or <strong>First name</strong>, <strong>Last name</strong> and <strong>Company</strong> (the email is then found by enrichment).
          Optional:{" "}
          {(fields()?.fields ?? [])
            .filter((f) => !["email", "first_name", "last_name", "company"].includes(f.field))
            .map((f) => f.label)
            .join(", ")}
          .{" "}
          <a href="/api/imports/sample.csv" download="seqflare-contacts-sample.csv">
            Download a sample CSV
          </a>
        </p>
      </Show>
      <FormProblems form={form} />

      <Show when={imp()}>
        {(i) => (
          <>
            <p class="muted" data-testid="csv-summary">
              <strong>{i().file_name}</strong>: {plural(i().row_count, "row")}, {i().delimiter === "\t" ? "tab" : `“${i().delimiter}”`}{" "}
              separated, {i().encoding === "utf-8" ? "UTF-8" : "Windows-1252"}
              <Show when={i().blank_rows}> ({plural(i().blank_rows, "blank row")} ignored)</Show>
            </p>
            <Show when={i().status === "uploaded"}>
              <div class="csv-reading" data-testid="csv-reading">
                <label>
                  Values separated by{" "}
                  <select
                    value={i().delimiter}
                    onChange={(e) => void patch({ delimiter: e.currentTarget.value })}
                    data-testid="csv-delimiter"
                  >
                    <For each={DELIMITERS}>{(d) => <option value={d.value}>{d.label}</option>}</For>
                  </select>
                </label>
                <label>
                  Text encoding{" "}
                  <select value={i().encoding} onChange={(e) => void patch({ encoding: e.currentTarget.value })} data-testid="csv-encoding">
                    <option value="utf-8">UTF-8</option>
                    <option value="windows-1252">Windows-1252 (Excel on Windows)</option>
                  </select>
                </label>
              </div>
            </Show>
            <For each={i().header_warnings}>{(msg) => <p class="flow-hint">{msg}</p>}</For>

            <Show when={i().status === "uploaded" || i().status === "failed"}>
              <Show when={locked()}>
                <p class="flow-hint" data-testid="csv-locked">
                  Part of this file is already saved with this mapping and these settings, so they can't change now: save again to finish,
                  or upload the file again to change them.
                </p>
              </Show>
              <div class="table-wrap">
                <table class="table" data-testid="csv-mapping">
                  <caption class="sr-only">Which contact field each column fills</caption>
                  <thead>
                    <tr>
                      <th scope="col">Column in your file</th>
                      <th scope="col">Saved as</th>
                      <th scope="col">First row</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={i().headers}>
                      {(h, col) => (
                        <tr>
                          <th scope="row">{h}</th>
                          <td>
                            <select
                              aria-label={`Field for column ${h}`}
                              disabled={locked()}
                              value={i().mapping[col()] ?? ""}
                              onChange={(e) => setColumn(col(), e.currentTarget.value)}
                            >
                              <option value="">Don't import</option>
                              <option value={CUSTOM}>Keep as a custom field</option>
                              <Options each={fields()?.fields} value={i().mapping[col()]} id={(f) => f.field}>
                                {(f) => f.label}
                              </Options>
                            </select>
                            <Show when={i().custom_keys[col()]}>
                              {(key) => (
                                <span class="muted small csv-custom-key">
                                  {" "}
                                  In emails: <code>{`{{custom.${key()}}}`}</code>
                                </span>
                              )}
                            </Show>
                          </td>
                          <td class="muted cell-clip-wide">{firstRowValue(i(), col())}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
              <Show when={i().mapping_problem}>
                {(m) => (
                  <div class="form-error" role="alert" data-testid="mapping-problem">
                    <Icon name="alert" size={16} />
                    <span>{m()}</span>
                  </div>
                )}
              </Show>
              <fieldset class="field">
                <legend>A contact with the same email already exists</legend>
                <For
                  each={
                    [
                      ["fill", "Fill its empty fields"],
                      ["overwrite", "Overwrite with the file's values"],
                      ["leave", "Leave it unchanged"],
                    ] as const
                  }
                >
                  {([v, label]) => (
                    <label class="radio">
                      <input
                        type="radio"
                        name="csv-match"
                        value={v}
                        checked={i().settings.match === v}
                        disabled={locked()}
                        onChange={() => void patch({ settings: { match: v } })}
                      />{" "}
                      {label}
                    </label>
                  )}
                </For>
              </fieldset>
              <div class="field">
                <label for="csv-owner">Owner of new contacts</label>
                <select
                  id="csv-owner"
                  disabled={locked()}
                  value={i().settings.owner_id ?? ""}
                  onChange={(e) => void patch({ settings: { owner_id: e.currentTarget.value || null } })}
                >
                  <option value="">Me (an Owner column overrides it)</option>
                  <Options each={users()?.users} value={i().settings.owner_id} id={(u) => u.id}>
                    {(u) => u.name}
                  </Options>
                </select>
              </div>
              <div class="field">
                <label for="csv-list-id">Also add them to a list (optional)</label>
                <select
                  id="csv-list-id"
                  disabled={locked()}
                  value={i().settings.list_id ?? ""}
                  onChange={(e) => void patch({ settings: { list_id: e.currentTarget.value || null } })}
                >
                  <option value="">No existing list</option>
                  <Options each={lists()?.lists} value={i().settings.list_id} id={(l) => l.id}>
                    {(l) => l.name}
                  </Options>
                </select>
                <Show when={!i().settings.list_id}>
                  <label for="csv-list">or a new list named</label>
                  <input
                    id="csv-list"
                    disabled={locked()}
                    type="text"
                    maxLength={120}
                    value={i().settings.list_name ?? ""}
                    onChange={(e) => void patch({ settings: { list_name: e.currentTarget.value.trim() || null } })}
                  />
                </Show>
              </div>
              <button
                type="button"
                class="btn btn-primary"
                disabled={busy() || changing() > 0 || !!i().mapping_problem}
                onClick={() => void save()}
                data-testid="csv-save"
              >
                Save {formatNumber(i().row_count)} contacts
              </button>
            </Show>

            <Show when={i().status === "saving"}>
              <span
                class="progress"
                role="progressbar"
                aria-label="Saving contacts"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={percent()}
              >
                <span style={{ width: `${percent()}%` }} />
              </span>
              <p class="muted small">Saving contacts… {percent()}%</p>
            </Show>
            <Show when={i().status === "ready" || i().status === "failed"}>
              <p data-testid="csv-result">{i().summary ?? i().error}</p>
              <Show when={i().failed > 0 || i().warned > 0}>
                <a href={`/api/imports/${i().id}/errors.csv`} download="" data-testid="csv-errors">
                  <Icon name="download" size={14} /> Download the{" "}
                  {[
                    i().failed > 0 && `${formatNumber(i().failed)} rows not imported`,
                    i().warned > 0 && `${formatNumber(i().warned)} rows saved with a warning`,
                  ]
                    .filter(Boolean)
                    .join(" and ")}
                  , with the reason for each
                </a>
              </Show>
            </Show>
          </>
        )}
      </Show>
    </div>
  );
}
