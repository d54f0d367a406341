export { createMailer, MailDeliveryError, type Mailer, type MailerOptions, type OutgoingEmail } from './mailer.js';
export {
  createOutboxWorker,
  enqueueEmail,
  type OutboxEmail,
  type OutboxWorker,
  type OutboxWorkerOptions,
} from './outbox.js';
