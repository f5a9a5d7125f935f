/**
 * Local IAM: each function's sandboxes sign their AWS calls with credentials of their own
 * (the access key id names the function), so every call the runtime receives (DynamoDB,
 * the Management API, SQS) is attributed to a function from its SigV4 `Authorization` header,
 * evaluated against that function's policy statements from the template (intrinsics resolved to
 * the local ARNs, wildcards matched as IAM matches them), denied as AWS denies it, and recorded.
 *
 *   enforce  (default)  a call no statement allows is denied, as on AWS
 *   audit               evaluated and recorded, never denied (what would have been is kept)
 *   off                 no evaluation, no record
 *
 * Callers that are not a function (the AWS CLI, tests, the runtime's own TTL sweep, all signing
 * with LOCAL_CREDENTIALS) are not evaluated. SAM policy templates of the services it plays are
 * expanded (template/policy-templates.ts), as the template reader builds each role (template/roles.ts). Functions whose role cannot be read from the template (a managed policy other than
 * the logging/tracing ones, another policy template, an external Role) are recorded but not enforced,
 * with a warning. Conditions in statements are not evaluated (a statement with one matches).
 */
import { createHash } from 'node:crypto';
import type { FunctionRole, Statement } from '../template/roles.js';
import type { TemplateModel } from '../template/template.js';

export type { FunctionRole, Statement };

export type IamMode = 'enforce' | 'audit' | 'off';

export interface IamCall {
  functionId: string;
  action: string;
  resource: string;
}

export interface UsageEntry extends IamCall {
  calls: number;
  denied: number;
}

export interface DeniedCall extends IamCall {
  at: string;
  enforced: boolean;
  reason: string;
}

/** One (action, resource pattern) a statement allows, and the calls it allowed. */
export interface Grant {
  action: string;
  resource: string;
  source: string;
  used: number;
}

export interface FunctionReport {
  functionId: string;
  enforceable: boolean;
  notes: string[];
  grants: Grant[];
  /** Calls made, each with the grant patterns that allowed it. */
  used: UsageEntry[];
  denied: DeniedCall[];
}

export interface IamDecision {
  allowed: boolean;
  denied?: IamCall;
  reason?: string;
  enforced: boolean;
}

/** The access key id a function's sandboxes use: readable, and unique per logical id. */
export function accessKeyIdFor(functionId: string): string {
  return `LOCAL${functionId.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 120);
}

/**
 * The secret of a function's access key id. The runtime checks every signature (local/src/iam/sigv4.ts);
 * the secret derives from the key id, so that a tool between a function and the runtime (the
 * benchmark's accounting proxy) can sign again what it changes.
 */
export function secretForAccessKey(accessKeyId: string): string {
  return createHash('sha256').update(`local-secret:${accessKeyId}`).digest('base64').slice(0, 40);
}

export function secretAccessKeyFor(functionId: string): string {
  return secretForAccessKey(accessKeyIdFor(functionId));
}

/**
 * The credentials the runtime hands out to everything that is not a function (the AWS CLI, tests,
 * the runtime's own table set-up and TTL sweep): `AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local`.
 */
export const LOCAL_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: 'local',
  secretAccessKey: 'local',
};

/** The access key id of a SigV4 `Authorization` header (or X-Amz-Credential query), if any. */
export function accessKeyIdOf(authorization: string | undefined, url?: string): string | undefined {
  const fromHeader = /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
  if (fromHeader) return fromHeader;
  const credential = url ? new URL(url, 'http://localhost').searchParams.get('X-Amz-Credential') : null;
  return credential?.split('/')[0] || undefined;
}

/** IAM wildcard matching: `*` any run of characters (including none), `?` any one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (!pattern.includes('*') && !pattern.includes('?'))
    return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

const matchesAny = (patterns: string[] | undefined, value: string, ignoreCase: boolean): boolean =>
  (patterns ?? []).some((p) => wildcardMatch(p, value, ignoreCase));

function statementMatches(s: Statement, action: string, resource: string): boolean {
  const actionOk = s.Action ? matchesAny(s.Action, action, true) : s.NotAction ? !matchesAny(s.NotAction, action, true) : false;
  if (!actionOk) return false;
  return s.Resource ? matchesAny(s.Resource, resource, false) : s.NotResource ? !matchesAny(s.NotResource, resource, false) : false;
}

/** Evaluates one call as IAM does for an identity policy: an explicit Deny wins, else some Allow, else denied. */
export function evaluate(statements: Statement[], action: string, resource: string): { allowed: boolean; reason: string } {
  const matching = statements.filter((s) => statementMatches(s, action, resource));
  const deny = matching.find((s) => s.Effect === 'Deny');
  if (deny) return { allowed: false, reason: `with an explicit deny in an identity-based policy (${deny.source})` };
  if (matching.some((s) => s.Effect === 'Allow')) return { allowed: true, reason: 'allowed' };
  return { allowed: false, reason: `because no identity-based policy allows the ${action} action` };
}

/** Pairs whose verdict is kept (each connection is a resource of its own): past it they are evaluated again. */
const MAX_VERDICTS = 100_000;

export class LocalIam {
  readonly roles: Map<string, FunctionRole>;
  private readonly byKey = new Map<string, string>();
  private readonly usageMap = new Map<string, UsageEntry>();
  private readonly verdicts = new Map<string, { allowed: boolean; reason: string }>();
  /** The secret of each function's access key id (derived once: every request asks). */
  private readonly secrets = new Map<string, string>();
  private readonly deniedCalls: DeniedCall[] = [];

  constructor(
    readonly model: TemplateModel,
    public mode: IamMode = 'enforce',
  ) {
    this.roles = model.roles;
    for (const id of this.roles.keys()) {
      const key = accessKeyIdFor(id);
      this.byKey.set(key, id);
      this.secrets.set(key, secretForAccessKey(key));
    }
  }

  /** Warnings about roles the runtime records but cannot enforce. */
  warnings(): string[] {
    if (this.mode === 'off') return [];
    return [...this.roles.values()]
      .filter((r) => !r.enforceable)
      .map((r) => `IAM: ${r.functionId} is not enforced locally (${r.notes.join('; ')}); its calls are recorded only`);
  }

  /** The secret of an access key id the runtime handed out (a function's or LOCAL_CREDENTIALS); undefined for any other. */
  secretOf(accessKeyId: string): string | undefined {
    if (accessKeyId === LOCAL_CREDENTIALS.accessKeyId) return LOCAL_CREDENTIALS.secretAccessKey;
    return this.secrets.get(accessKeyId);
  }

  /** The function that signed a request, or undefined for any other caller. */
  principal(authorization: string | undefined, url?: string): string | undefined {
    const key = accessKeyIdOf(authorization, url);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** The caller as AWS names it in an AccessDenied message. */
  callerArn(functionId: string): string {
    const { partition, accountId } = this.model.pseudo;
    const fn = this.model.functions.get(functionId);
    const role = this.roles.get(functionId)?.roleArn.split('/').pop() ?? `${functionId}Role`;
    return `arn:${partition}:sts::${accountId}:assumed-role/${role}/${fn?.functionName ?? functionId}`;
  }

  /** Evaluates and records a call that needs every (action, resource) pair; the first denied one is reported. */
  authorize(functionId: string, pairs: { action: string; resource: string }[]): IamDecision {
    if (this.mode === 'off') return { allowed: true, enforced: false };
    const role = this.roles.get(functionId);
    const enforced = this.mode === 'enforce' && (role?.enforceable ?? false);
    let first: { call: IamCall; reason: string } | undefined;
    for (const { action, resource } of pairs) {
      const key = `${functionId}\u0000${action}\u0000${resource}`;
      const entry = this.entry(key, { functionId, action, resource });
      // The statements never change for this runtime: a pair is evaluated once (a fan-out asks
      // the same pairs for every message).
      let verdict = this.verdicts.get(key);
      if (!verdict) {
        if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.clear();
        this.verdicts.set(key, (verdict = evaluate(role?.statements ?? [], action, resource)));
      }
      entry.calls += 1;
      if (!verdict.allowed) {
        entry.denied += 1;
        const call = { functionId, action, resource };
        this.deniedCalls.push({ ...call, at: new Date().toISOString(), enforced, reason: verdict.reason });
        first ??= { call, reason: verdict.reason };
      }
    }
    if (!first) return { allowed: true, enforced };
    return { allowed: !enforced, denied: first.call, reason: first.reason, enforced };
  }

  private entry(key: string, call: IamCall): UsageEntry {
    let entry = this.usageMap.get(key);
    if (!entry) this.usageMap.set(key, (entry = { ...call, calls: 0, denied: 0 }));
    return entry;
  }

  /** Every (function, action, resource) called so far, with counts. */
  usage(): UsageEntry[] {
    return [...this.usageMap.values()].map((e) => ({ ...e }));
  }

  /** Calls no statement allowed (denied, or would have been in audit mode). */
  denied(): DeniedCall[] {
    return this.deniedCalls.map((d) => ({ ...d }));
  }

  /** Per function: what its statements grant, how often each grant was used, and what was denied. */
  report(): FunctionReport[] {
    const usage = this.usage();
    const denied = this.denied();
    return [...this.roles.values()].map((role) => {
      const used = usage.filter((u) => u.functionId === role.functionId);
      const grants: Grant[] = role.statements
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) =>
          (s.Action ?? []).flatMap((action) =>
            (s.Resource ?? []).map((resource) => ({
              action,
              resource,
              source: s.source,
              used: used
                .filter((u) => u.calls > u.denied && wildcardMatch(action, u.action, true) && wildcardMatch(resource, u.resource))
                .reduce((sum, u) => sum + u.calls - u.denied, 0),
            })),
          ),
        );
      return {
        functionId: role.functionId,
        enforceable: role.enforceable,
        notes: [...role.notes],
        grants,
        used,
        denied: denied.filter((d) => d.functionId === role.functionId),
      };
    });
  }

  /** Forgets what was recorded (for a test that measures one scenario). */
  reset(): void {
    this.usageMap.clear();
    this.deniedCalls.length = 0;
  }
}
