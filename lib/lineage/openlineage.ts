/**
 * The OpenLineage RunEvent this product writes, as types, and the same event as zod schemas written
 * from the specification (https://openlineage.io/spec/2-0-2/OpenLineage.json and the facet schemas
 * under https://openlineage.io/spec/facets/): what each object requires, and for the facets this
 * product writes, their fields and types. No package on npm ships the OpenLineage JSON Schemas (there
 * is no JavaScript client), so these schemas are this project's reading of the spec, not a copy of
 * it; every exported event is checked against them before it leaves the process, and the tests
 * check every event of a harvested window again.
 * @module
 */
import { z } from 'zod';

export const SPEC_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json';
export const RUN_EVENT_SCHEMA_URL = `${SPEC_URL}#/$defs/RunEvent`;

/** Each facet this product writes: its key in the facets object and its schema's URL (_schemaURL). */
export const FACETS = {
  parent: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
  processing_engine:
    'https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet',
  externalQuery: 'https://openlineage.io/spec/facets/1-0-2/ExternalQueryRunFacet.json#/$defs/ExternalQueryRunFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  sql: 'https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet',
  schema: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  documentation:
    'https://openlineage.io/spec/facets/1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet',
  outputStatistics:
    'https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
  dataQualityAssertions:
    'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet',
} as const;
export type FacetName = keyof typeof FACETS;

export interface Facet {
  _producer: string;
  _schemaURL: string;
  [field: string]: unknown;
}
export type Facets = Record<string, Facet>;

export interface Dataset {
  namespace: string;
  name: string;
  facets?: Facets;
}
export interface InputDataset extends Dataset {
  inputFacets?: Facets;
}
export interface OutputDataset extends Dataset {
  outputFacets?: Facets;
}

export type EventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

export interface RunEvent {
  eventTime: string;
  producer: string;
  schemaURL: string;
  eventType: EventType;
  run: { runId: string; facets: Facets };
  job: { namespace: string; name: string; facets: Facets };
  inputs: InputDataset[];
  outputs: OutputDataset[];
}

// The schemas, as the spec reads.

/** JSON Schema's "uri": an absolute URI (RFC 3986: a scheme, a colon, then no whitespace). */
const uri = z.string().regex(/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/, 'must be an absolute URI');
/** JSON Schema's "date-time": RFC 3339, with its offset. */
const dateTime = z.iso.datetime({ offset: true });

/** BaseFacet: `_producer` and `_schemaURL` (URIs), anything else allowed. */
const baseFacet = z.looseObject({ _producer: uri, _schemaURL: uri });
/** JobFacet and DatasetFacet add an optional `_deleted`. */
const deletableFacet = baseFacet.extend({ _deleted: z.boolean().optional() });

const schemaField: z.ZodType = z.lazy(() =>
  z.looseObject({
    name: z.string(),
    type: z.string().optional(),
    description: z.string().optional(),
    ordinal_position: z.number().int().optional(),
    fields: z.array(schemaField).optional(),
  }),
);

/** The facets this product writes, each by the schema of its own spec (required fields and types). */
const KNOWN: Record<FacetName, z.ZodType> = {
  parent: baseFacet.extend({
    run: z.looseObject({ runId: z.uuid() }),
    job: z.looseObject({ namespace: z.string(), name: z.string() }),
  }),
  processing_engine: baseFacet.extend({
    version: z.string(),
    name: z.string().optional(),
    openlineageAdapterVersion: z.string().optional(),
  }),
  externalQuery: baseFacet.extend({ externalQueryId: z.string(), source: z.string() }),
  errorMessage: baseFacet.extend({
    message: z.string(),
    programmingLanguage: z.string(),
    stackTrace: z.string().optional(),
  }),
  jobType: deletableFacet.extend({
    processingType: z.string(),
    integration: z.string(),
    jobType: z.string().optional(),
  }),
  sql: deletableFacet.extend({ query: z.string(), dialect: z.string().optional() }),
  schema: deletableFacet.extend({ fields: z.array(schemaField).optional() }),
  documentation: deletableFacet.extend({ description: z.string(), contentType: z.string().optional() }),
  outputStatistics: baseFacet.extend({
    rowCount: z.number().int().optional(),
    size: z.number().int().optional(),
    fileCount: z.number().int().optional(),
  }),
  dataQualityAssertions: baseFacet.extend({
    assertions: z.array(
      z.looseObject({
        assertion: z.string(),
        success: z.boolean(),
        column: z.string().optional(),
        severity: z.string().optional(),
        name: z.string().optional(),
        description: z.string().optional(),
        expected: z.string().optional(),
        actual: z.string().optional(),
      }),
    ),
  }),
};

/** A facets object: every value a facet of its kind, and a facet this product knows by its own schema too. */
const facets = (base: z.ZodType) =>
  z.record(z.string(), base).superRefine((value, ctx) => {
    for (const [key, facet] of Object.entries(value)) {
      const known = (KNOWN as Record<string, z.ZodType | undefined>)[key];
      if (!known) continue;
      const parsed = known.safeParse(facet);
      if (!parsed.success)
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path] });
    }
  });

const dataset = z.looseObject({
  namespace: z.string(),
  name: z.string(),
  facets: facets(deletableFacet).optional(),
});

export const RunEventSchema = z.looseObject({
  eventTime: dateTime,
  producer: uri,
  schemaURL: uri,
  eventType: z.enum(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']).optional(),
  run: z.looseObject({ runId: z.uuid(), facets: facets(baseFacet).optional() }),
  job: z.looseObject({ namespace: z.string(), name: z.string(), facets: facets(deletableFacet).optional() }),
  inputs: z.array(dataset.extend({ inputFacets: facets(baseFacet).optional() })).optional(),
  outputs: z.array(dataset.extend({ outputFacets: facets(baseFacet).optional() })).optional(),
});

/** What is wrong with an event, by the schemas above (`path: message`), or nothing. */
export function eventProblems(event: unknown): string[] {
  const parsed = RunEventSchema.safeParse(event);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(event)'}: ${i.message}`);
}

/** A facet of a kind this product writes. */
export function facet(name: FacetName, producer: string, fields: Record<string, unknown>): Facet {
  return { _producer: producer, _schemaURL: FACETS[name], ...fields };
}
