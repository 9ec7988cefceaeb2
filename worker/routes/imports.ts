import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { csvDownload, csvFile } from "../lib/csv";
import { ApiError } from "../lib/errors";
import { mediaTypeOf, treatAsParsedMultipart, unsupportedMediaType } from "../middleware/content-type";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { authorize, importFor } from "../services/access";
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from "../services/imports/csv";
import {
  createImport,
  deleteImport,
  errorReport,
  ImportPatch,
  ImportSettings,
  listImports,
  presentImport,
  sampleCsv,
  saveImport,
  updateImport,
  type ImportRow,
} from "../services/imports/imports";
import { FIELD_NAMES, IMPORT_FIELDS, MAPPING_CHOICES } from "../services/imports/mapping";

/** Upload path: exempt from the API's 1 MB JSON limit (worker/app.ts), held to the file limit here instead. */
export const UPLOAD_PATH = "/api/imports";

const Contact = z.object({
  email: z.string().nullable(),
  first_name: z.string(),
  last_name: z.string(),
  company: z.string().nullable(),
  domain: z.string().nullable(),
  domain_from_email: z
    .boolean()
    .openapi({ description: "The domain is the email's (no website given): new contacts take it, existing ones keep theirs" }),
  title: z.string().nullable(),
  phone: z.string().nullable(),
  linkedin_url: z.string().nullable(),
  industry: z.string().nullable(),
  city: z.string().nullable(),
  country: z.string().nullable(),
  time_zone: z.string().nullable(),
  owner_email: z.string().nullable(),
  custom_fields: z.record(z.string(), z.string()),
});

export const ImportSchema = z
  .object({
    id: z.string(),
    file_name: z.string(),
    size_bytes: z.number(),
    status: z.enum(["uploaded", "saving", "ready", "failed"]).openapi({
      description:
        "uploaded (map it), saving (contacts being saved), ready (add it to a sequence), failed (see error; save again to resume)",
    }),
    row_count: z.number(),
    blank_rows: z.number(),
    headers: z.array(z.string()),
    header_warnings: z.array(z.string()),
    delimiter: z.string(),
    encoding: z.string(),
    mapping: z.array(z.enum(MAPPING_CHOICES).nullable()),
    custom_keys: z
      .array(z.string().nullable())
      .openapi({ description: "Per column kept as a custom field: its key ({{custom.<key>}} in templates); null otherwise" }),
    mapping_problem: z.string().nullable(),
    settings: ImportSettings,
    sample: z
      .array(z.object({ ok: z.boolean(), reason: z.string().nullable(), contact: Contact.nullable() }))
      .openapi({ description: "The first rows as they will be saved" }),
    progress: z.object({ parts: z.number(), parts_done: z.number() }),
    saved: z.number(),
    created: z.number(),
    updated: z.number(),
    failed: z.number(),
    warned: z
      .number()
      .openapi({ description: "Contacts saved with a warning (an Owner that is no active user of the team), in the error report" }),
    filled: z.number().openapi({
      description:
        "Of updated: rows matched by name and company to an existing contact with no email address, which was given the row's address (each one noted in the row report)",
    }),
    error: z.string().nullable(),
    summary: z.string().nullable(),
    user_id: z.string(),
    created_at: z.number(),
  })
  .openapi("Import");

const present = (row: ImportRow) => presentImport(row) as z.infer<typeof ImportSchema>;

/**
 * The upload's form: one CSV file in the field `file`. Declared so the OpenAPI document and the typed
 * client (`api.imports.$post({ form: { file } })`) know it; the checks that answer in words run first,
 * in `readUpload` and the route's hook.
 */
const UploadForm = z
  .object({
    file: z.instanceof(File).openapi({ type: "string", format: "binary", description: "The CSV file (at most 50 MB)" }),
  })
  .openapi("ImportUpload");

const fileField = (message: string) => ({ fields: [{ field: "file", message }] });

/**
 * After the size limit and before the validator: the caller may add contacts (decided before the
 * form is read), and the body must be multipart, parsed once by the platform's streaming parser into
 * hono's body cache, which the form validator then reads (so the file is held in memory once, never
 * copied to an ArrayBuffer first).
 */
const readUpload = createMiddleware<AppEnv>(async (c, next) => {
  authorize(c.get("caller"), "contact.edit");
  // Whatever parameters come with it (charset, a quoted boundary, any order, any case): the platform's
  // parser reads the boundary; anything but a form is refused with the type the route accepts.
  const type = c.req.header("content-type");
  if (mediaTypeOf(type) !== "multipart/form-data")
    throw unsupportedMediaType(["multipart/form-data"], type, "the CSV file in the form field named file");
  await c.req.formData().catch(() => {
    throw new ApiError(
      "validation_failed",
      "The upload is not valid multipart/form-data",
      fileField("Upload the CSV file in the form field named file"),
    );
  });
  treatAsParsedMultipart(c);
  await next();
});

/** The form has no file in `file` (absent or text), or several: which one was meant is not guessed. */
async function refuseUpload(form: Promise<FormData>): Promise<never> {
  const files = (await form).getAll("file").filter((f) => f instanceof File).length;
  if (files > 1) throw new ApiError("validation_failed", "Upload one file at a time", fileField("Choose one CSV file"));
  throw new ApiError("validation_failed", "No file was uploaded", fileField("Choose a CSV file"));
}

const uploadLimit = bodyLimit({
  maxSize: MAX_IMPORT_BYTES + 64 * 1024, // the file plus the multipart envelope
  onError: () => {
    throw new ApiError("payload_too_large", `A file can be at most ${MAX_IMPORT_BYTES / 1024 / 1024} MB`, {
      limit_bytes: MAX_IMPORT_BYTES,
      fix: "Split the file, or remove columns you don't need",
    });
  },
});

export const importRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/imports/sample.csv",
      tags: ["Imports"],
      summary: "A sample CSV with every supported column and an example row",
      responses: { 200: csvFile() },
    }),
    () => csvDownload("seqflare-contacts-sample.csv", sampleCsv()),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/imports/fields",
      tags: ["Imports"],
      summary: "The contact fields a column can fill, with the header names matched automatically",
      responses: {
        200: json(
          z.object({
            fields: z.array(z.object({ field: z.string(), label: z.string(), synonyms: z.array(z.string()) })),
            required: z.string(),
            limits: z.object({ bytes: z.number(), rows: z.number() }),
          }),
        ),
      },
    }),
    (c) =>
      c.json(
        {
          fields: FIELD_NAMES.map((f) => ({ field: f, label: IMPORT_FIELDS[f].label, synonyms: [...IMPORT_FIELDS[f].synonyms] })),
          required: "An Email column, or First name + Last name + Company (to find the email by enrichment)",
          limits: { bytes: MAX_IMPORT_BYTES, rows: MAX_IMPORT_ROWS },
        },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/imports",
      tags: ["Imports"],
      summary: `Upload a CSV of contacts (multipart/form-data, field "file"; at most 50 MB and ${MAX_IMPORT_ROWS.toLocaleString("en-US")} rows). Detects the delimiter and encoding and maps the headers.`,
      // In this order: the 413 is decided from the bytes before anything is parsed, then the form is read once.
      middleware: [uploadLimit, readUpload] as const,
      request: { body: { content: { "multipart/form-data": { schema: UploadForm } }, required: true } },
      responses: {
        201: json(z.object({ import: ImportSchema }), "Uploaded"),
        413: { description: "Larger than 50 MB or 100,000 rows", content: errorResponses[422].content },
        415: { description: "Not multipart/form-data (details.accepts)", content: errorResponses[422].content },
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const row = await createImport(c.env, c.var.db, c.get("caller"), c.req.valid("form").file);
      return c.json({ import: present(row) }, 201);
    },
    (result, c) => (result.success ? undefined : refuseUpload(c.req.formData())),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/imports",
      tags: ["Imports"],
      summary: "Your uploaded files, newest first (admins: the team's)",
      request: { query: Pagination },
      responses: { 200: json(z.object({ imports: z.array(ImportSchema), pagination: PaginationMeta })), 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { page, per_page } = c.req.valid("query");
      const { imports, total } = await listImports(c.var.db, caller, page, per_page);
      return c.json({ imports: imports.map(present), pagination: paginationMeta(page, per_page, total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/imports/{id}",
      tags: ["Imports"],
      summary: "An import: headers, mapping, settings, preview of the first rows, saving progress",
      request: { params: IdParam },
      responses: { 200: json(z.object({ import: ImportSchema })), 404: errorResponses[404] },
    }),
    async (c) => c.json({ import: present(await importFor(c.var.db, c.get("caller"), c.req.valid("param").id)) }, 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/imports/{id}",
      tags: ["Imports"],
      summary:
        "Change the column mapping (a field, a custom field, or ignored), the encoding, the delimiter or the settings (before saving)",
      request: { params: IdParam, body: jsonBody(ImportPatch) },
      responses: {
        200: json(z.object({ import: ImportSchema })),
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const row = await importFor(c.var.db, caller, c.req.valid("param").id);
      return c.json({ import: present(await updateImport(c.env, c.var.db, caller, row, c.req.valid("json"))) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/imports/{id}",
      tags: ["Imports"],
      summary: "Delete an import's data: the uploaded file, its preview rows and its row report (the uploader or an admin)",
      description:
        "The contacts it saved stay. 409 while it is being saved, or while an add-contacts job that takes its contacts from it has not run yet.",
      request: { params: IdParam },
      responses: {
        200: json(z.object({ deleted: z.boolean() })),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      authorize(caller, "contact.edit");
      const row = await importFor(c.var.db, caller, c.req.valid("param").id);
      await deleteImport(c.env, c.var.db, row);
      return c.json({ deleted: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/imports/{id}/save",
      tags: ["Imports"],
      summary: "Save the file's contacts (through the queue, a part at a time); then add them with source: { import_id }",
      description: "One import of a team saves at a time: 409 while another is being saved.",
      request: { params: IdParam },
      responses: {
        202: json(z.object({ import: ImportSchema }), "Saving: follow the import"),
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      authorize(caller, "contact.edit");
      const row = await importFor(c.var.db, caller, c.req.valid("param").id);
      return c.json({ import: present(await saveImport(c.env, c.var.db, caller, row)) }, 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/imports/{id}/errors.csv",
      tags: ["Imports"],
      summary:
        "Every row not imported, every row saved with a warning, and every row that filled in the address of a contact matched by name and company: row number (the header is row 1), column, value and reason, then the row's own cells under the file's headers (fix them and upload the report). UTF-8 with a BOM, formula-safe.",
      request: { params: IdParam },
      responses: { 200: csvFile(), 404: errorResponses[404] },
    }),
    async (c) => {
      const row = await importFor(c.var.db, c.get("caller"), c.req.valid("param").id);
      // The uploaded file's own name, at most 80 characters (whole in filename*, an ASCII copy in filename).
      const name = Array.from(row.fileName.replace(/\.csv$/i, ""))
        .slice(0, 80)
        .join("");
      return csvDownload(`${name}-errors.csv`, errorReport(c.env, c.var.db, row));
    },
  );
