-- AlterTable
ALTER TABLE "users" ADD COLUMN     "mfa_last_used_step" INTEGER;
