/**
 * The alerts' settings, read with the rest of the configuration (load.ts): the rules' thresholds,
 * and each sink configured, its secret as a value or the Secret Manager secret to read it from.
 * A generic webhook needs its signing key; a sink set twice (value and secret) is one problem.
 * @module
 */
import type { AlertRule } from '../core/alert.ts';
import type { OptionKey, OptionValue, SecretVersionName } from './options.ts';

/** A secret's value, or where to read it at run time. */
export type AlertSecret = string | { secret: SecretVersionName; endpoint?: string };

export interface AlertSettings {
  rules: AlertRule[];
  includeWarn: boolean;
  slowerRatio: number;
  slowerSeconds: number;
  maxMessages: number;
  slack?: AlertSecret;
  teams?: AlertSecret;
  webhook?: { url: string; secret: AlertSecret };
  pagerduty?: AlertSecret;
}

/** What the configuration's reader offers this module. */
export interface SettingReader {
  optional<K extends OptionKey>(key: K): OptionValue<K> | undefined;
  defaulted<K extends OptionKey>(key: K): OptionValue<K>;
  /** A secret given as a value or as its secret's name, not both (a problem then), redacted everywhere. */
  secret(valueKey: OptionKey, nameKey: OptionKey): AlertSecret | undefined;
  problem(text: string): void;
}

export function readAlertSettings(r: SettingReader): AlertSettings {
  const settings: AlertSettings = {
    rules: r.defaulted('alertRules'),
    includeWarn: r.defaulted('alertIncludeWarn'),
    slowerRatio: r.defaulted('alertSlowerRatio'),
    slowerSeconds: r.defaulted('alertSlowerSeconds'),
    maxMessages: r.defaulted('alertMaxMessages'),
  };
  const slack = r.secret('slackWebhookUrl', 'slackWebhookUrlSecret');
  if (slack !== undefined) settings.slack = slack;
  const teams = r.secret('teamsWebhookUrl', 'teamsWebhookUrlSecret');
  if (teams !== undefined) settings.teams = teams;
  const pagerduty = r.secret('pagerdutyRoutingKey', 'pagerdutyRoutingKeySecret');
  if (pagerduty !== undefined) settings.pagerduty = pagerduty;
  const url = r.optional('alertWebhookUrl');
  const key = r.secret('alertWebhookSecret', 'alertWebhookSecretName');
  if (url !== undefined && key !== undefined) settings.webhook = { url, secret: key };
  else if (url !== undefined)
    r.problem(
      'ALERTS_WEBHOOK_URL needs ALERTS_WEBHOOK_SECRET (or ALERTS_WEBHOOK_SECRET_NAME): every generic webhook body is signed',
    );
  return settings;
}

/** Whether any sink is configured: alerts are off until one is. */
export const hasSink = (s: AlertSettings): boolean =>
  s.slack !== undefined || s.teams !== undefined || s.webhook !== undefined || s.pagerduty !== undefined;
