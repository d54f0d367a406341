import { context, propagation } from '@opentelemetry/api';
import nodemailer from 'nodemailer';
import type { Logger } from '../../observability/logger.js';

export interface MailerOptions {
  /** smtp:// or smtps:// URL with credentials; undefined logs messages instead of sending them. */
  url: string | undefined;
  /** From header, e.g. `ERP Gateway <no-reply@erp.local>`. */
  from: string;
  logger: Logger;
  /**
   * Whether the log-only mailer (no `url`) logs message bodies. Bodies can hold personal data
   * and links, so production-like environments log recipient and subject only.
   * @default false
   */
  logBodies?: boolean;
  /** Longest one SMTP delivery may take, connection included, before it is aborted. @default 60000 */
  sendTimeoutMs?: number;
}

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /**
   * A stable id (the outbox row id). The Message-ID is derived from it, so a resend after a
   * crash carries the same Message-ID and receiving systems can drop the duplicate.
   */
  id?: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  close(): Promise<void>;
  /** true when no SMTP relay is configured and messages are only logged. */
  readonly logOnly: boolean;
}

/** A failed delivery. The message never contains the SMTP credentials. */
export class MailDeliveryError extends Error {
  constructor(
    message: string,
    /** The SMTP reply code, when the server answered. */
    readonly responseCode: number | undefined,
  ) {
    super(message);
    this.name = 'MailDeliveryError';
  }
}

/** Bounded so that one batch of the outbox worker ends well within its claim (see outbox.ts). */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

function domainOf(from: string): string {
  return /@([^\s>]+)/.exec(from)?.[1] ?? 'localhost';
}

/** Values of the URL that must never reach a log line or the outbox's last_error column. */
function credentialsOf(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url);
    return [url, parsed.password, decodeURIComponent(parsed.password)].filter((value) => value.length >= 4);
  } catch {
    return [url];
  }
}

/**
 * The one mail sender (REQ 5.5 notifications go through the outbox, which calls this).
 * Over nodemailer's SMTP transport when a URL is configured; otherwise over its JSON transport,
 * which builds the message without sending it, and the message is logged instead: development
 * needs no mail server, and staging/production without SMTP_URL are warned about at startup.
 */
export function createMailer(options: MailerOptions): Mailer {
  const logger = options.logger.child({ component: 'mail' });
  const secrets = credentialsOf(options.url);
  const domain = domainOf(options.from);
  const sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
  const headers = { 'Auto-Submitted': 'auto-generated' }; // RFC 3834: no auto-replies to notifications

  const scrub = (text: string): string => secrets.reduce((out, secret) => out.split(secret).join('[REDACTED]'), text);

  const toDeliveryError = (error: unknown): MailDeliveryError => {
    const err = error as { message?: unknown; responseCode?: unknown };
    const message = typeof err?.message === 'string' && err.message ? err.message : String(error);
    return new MailDeliveryError(scrub(message), typeof err?.responseCode === 'number' ? err.responseCode : undefined);
  };

  if (options.url === undefined) {
    const transport = nodemailer.createTransport({ jsonTransport: true });
    return {
      logOnly: true,
      async send(email) {
        const info = await transport.sendMail({
          from: options.from,
          to: email.to,
          subject: email.subject,
          text: email.text,
          headers,
          ...(email.id ? { messageId: `<${email.id}@${domain}>` } : {}),
        });
        logger.info('email logged, not sent (no SMTP_URL configured)', {
          messageId: info.messageId,
          to: email.to,
          subject: email.subject,
          ...(options.logBodies ? { text: email.text } : {}),
        });
        return { messageId: info.messageId };
      },
      async close() {
        transport.close();
      },
    };
  }

  // Query parameters of the URL (e.g. ?socketTimeout=…) override these defaults.
  const transport = nodemailer.createTransport({ url: options.url, ...SMTP_TIMEOUTS });
  return {
    logOnly: false,
    async send(email) {
      // W3C trace context travels in the message headers (REQ 12.3): a mail relay or a support
      // tool can tie the email to the trace that sent it. Nothing is added when not tracing.
      const traceHeaders: Record<string, string> = {};
      propagation.inject(context.active(), traceHeaders);
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: email.to,
          subject: email.subject,
          text: email.text,
          headers: { ...headers, ...traceHeaders },
          signal: AbortSignal.timeout(sendTimeoutMs),
          ...(email.id ? { messageId: `<${email.id}@${domain}>` } : {}),
        });
        return { messageId: info.messageId };
      } catch (error) {
        throw toDeliveryError(error);
      }
    },
    async close() {
      transport.close();
    },
  };
}
