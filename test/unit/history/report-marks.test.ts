import { describe, expect, it } from 'vitest';
import { jobOfMark, testOwner } from '../../../lib/history/report-html.ts';

/** What the report ties to a job or a model by name: never by parsing a name, always by matching known ones. */
describe('the report’s ties by name', () => {
  const jobs = new Map([
    ['Nightly (70100)', 70100],
    ['Tom & Jerry (70101)', 70101],
    ['ETL 5; daily (70102)', 70102],
    ['Prod; nightly (70103)', 70103],
    ['job 70104', 70104],
  ]);

  it('tags a chart mark with the job its description names, whatever the name holds', () => {
    // As Vega writes descriptions into aria-label: its entities escaped.
    expect(jobOfMark('job: Nightly (70100); 30 points, 2026-10-31 to 2026-11-29', jobs)).toBe(70100);
    expect(jobOfMark('run finished (UTC): Nov 1, 2026; minutes: 2.5; job: Tom &amp; Jerry (70101)', jobs)).toBe(70101);
    expect(jobOfMark('job: ETL 5; daily (70102); 3 points', jobs)).toBe(70102);
    expect(jobOfMark('minutes: 1; job: Prod; nightly (70103)', jobs)).toBe(70103);
    expect(jobOfMark('job: job 70104; 2 points', jobs)).toBe(70104);
    // Not a job this report knows, or not a job field at all: no tag.
    expect(jobOfMark('job: ETL 5', jobs)).toBeUndefined();
    expect(jobOfMark('model: orders (Nightly (70100)); 12 points', jobs)).toBeUndefined();
  });

  it('gives a test to the model its name names first (the longer where two start together)', () => {
    const models = new Set(['orders', 'stg_orders', 'fct_orders', 'customers']);
    expect(testOwner('test.shop.not_null_orders_order_id.a1', models)).toBe('orders');
    expect(testOwner('test.shop.not_null_stg_orders_order_id.b2', models)).toBe('stg_orders');
    expect(testOwner('test.shop.unique_fct_orders_order_id.c3', models)).toBe('fct_orders');
    expect(testOwner('test.shop.relationships_orders_customer_id__customer_id__ref_customers_.d4', models)).toBe(
      'orders',
    );
    expect(testOwner('test.shop.accepted_values_payments_method.e5', models)).toBeUndefined();
  });
});
