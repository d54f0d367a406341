-- CreateEnum
CREATE TYPE "ScheduleStatus" AS ENUM ('DRAFT', 'PUBLISHED');

-- CreateEnum
CREATE TYPE "ScheduleJobStatus" AS ENUM ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED');

-- CreateEnum
CREATE TYPE "SolveMethod" AS ENUM ('OPTIMAL', 'FEASIBLE', 'HEURISTIC');

-- CreateTable
CREATE TABLE "employees" (
    "id" UUID NOT NULL,
    "user_id" UUID,
    "home_warehouse_id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "skills" VARCHAR(64)[] DEFAULT ARRAY[]::VARCHAR(64)[],
    "weekly_limit_minutes" INTEGER NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "employees_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "employee_availability" (
    "id" UUID NOT NULL,
    "employee_id" UUID NOT NULL,
    "weekday" INTEGER NOT NULL,
    "start_minute" INTEGER NOT NULL,
    "end_minute" INTEGER NOT NULL,

    CONSTRAINT "employee_availability_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "shifts" (
    "id" UUID NOT NULL,
    "warehouse_id" UUID NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "required_skill" VARCHAR(64),
    "headcount" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "shifts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedules" (
    "id" UUID NOT NULL,
    "warehouse_id" UUID NOT NULL,
    "week_start" TIMESTAMPTZ(3) NOT NULL,
    "status" "ScheduleStatus" NOT NULL DEFAULT 'DRAFT',
    "published_at" TIMESTAMPTZ(3),
    "published_by_id" UUID,
    "published_job_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "schedules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedule_assignments" (
    "id" UUID NOT NULL,
    "schedule_id" UUID NOT NULL,
    "shift_id" UUID NOT NULL,
    "employee_id" UUID NOT NULL,
    "shift_starts_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "schedule_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedule_jobs" (
    "id" UUID NOT NULL,
    "schedule_id" UUID NOT NULL,
    "status" "ScheduleJobStatus" NOT NULL DEFAULT 'QUEUED',
    "time_budget_ms" INTEGER NOT NULL,
    "problem_hash" CHAR(64) NOT NULL,
    "problem" JSONB NOT NULL,
    "cached" BOOLEAN NOT NULL DEFAULT false,
    "method" "SolveMethod",
    "gap" DOUBLE PRECISION,
    "fallback_reason" VARCHAR(100),
    "quality" JSONB,
    "assignments" JSONB,
    "duration_ms" INTEGER,
    "error" VARCHAR(500),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "requested_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "schedule_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "employees_user_id_key" ON "employees"("user_id");

-- CreateIndex
CREATE INDEX "employees_home_warehouse_id_name_idx" ON "employees"("home_warehouse_id", "name");

-- CreateIndex
CREATE INDEX "employees_created_at_idx" ON "employees"("created_at" DESC);

-- CreateIndex
CREATE INDEX "employee_availability_employee_id_weekday_idx" ON "employee_availability"("employee_id", "weekday");

-- CreateIndex
CREATE INDEX "shifts_warehouse_id_starts_at_idx" ON "shifts"("warehouse_id", "starts_at");

-- CreateIndex
CREATE INDEX "schedules_published_by_id_idx" ON "schedules"("published_by_id");

-- CreateIndex
CREATE INDEX "schedules_published_job_id_idx" ON "schedules"("published_job_id");

-- CreateIndex
CREATE UNIQUE INDEX "schedules_warehouse_id_week_start_key" ON "schedules"("warehouse_id", "week_start");

-- CreateIndex
CREATE INDEX "schedule_assignments_employee_id_shift_starts_at_idx" ON "schedule_assignments"("employee_id", "shift_starts_at");

-- CreateIndex
CREATE INDEX "schedule_assignments_schedule_id_idx" ON "schedule_assignments"("schedule_id");

-- CreateIndex
CREATE UNIQUE INDEX "schedule_assignments_shift_id_employee_id_key" ON "schedule_assignments"("shift_id", "employee_id");

-- CreateIndex
CREATE INDEX "schedule_jobs_schedule_id_created_at_idx" ON "schedule_jobs"("schedule_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "schedule_jobs_requested_by_id_idx" ON "schedule_jobs"("requested_by_id");

-- CreateIndex
CREATE INDEX "schedule_jobs_status_created_at_idx" ON "schedule_jobs"("status", "created_at");

-- AddForeignKey
ALTER TABLE "employees" ADD CONSTRAINT "employees_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "employees" ADD CONSTRAINT "employees_home_warehouse_id_fkey" FOREIGN KEY ("home_warehouse_id") REFERENCES "warehouses"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "employee_availability" ADD CONSTRAINT "employee_availability_employee_id_fkey" FOREIGN KEY ("employee_id") REFERENCES "employees"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_warehouse_id_fkey" FOREIGN KEY ("warehouse_id") REFERENCES "warehouses"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_warehouse_id_fkey" FOREIGN KEY ("warehouse_id") REFERENCES "warehouses"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_published_by_id_fkey" FOREIGN KEY ("published_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_published_job_id_fkey" FOREIGN KEY ("published_job_id") REFERENCES "schedule_jobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_assignments" ADD CONSTRAINT "schedule_assignments_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_assignments" ADD CONSTRAINT "schedule_assignments_shift_id_fkey" FOREIGN KEY ("shift_id") REFERENCES "shifts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_assignments" ADD CONSTRAINT "schedule_assignments_employee_id_fkey" FOREIGN KEY ("employee_id") REFERENCES "employees"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_jobs" ADD CONSTRAINT "schedule_jobs_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_jobs" ADD CONSTRAINT "schedule_jobs_requested_by_id_fkey" FOREIGN KEY ("requested_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Scheduling rules the database itself keeps (also in schema.extra.sql).
ALTER TABLE "employees" ADD CONSTRAINT "employees_weekly_limit_minutes_range" CHECK ("weekly_limit_minutes" BETWEEN 0 AND 10080);
ALTER TABLE "employee_availability" ADD CONSTRAINT "employee_availability_window_valid" CHECK ("weekday" BETWEEN 1 AND 7 AND "start_minute" >= 0 AND "end_minute" <= 1440 AND "start_minute" < "end_minute");
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_ends_after_start" CHECK ("ends_at" > "starts_at");
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_headcount_positive" CHECK ("headcount" > 0);

-- Reference data: the scheduling permissions (src/modules/identity/permissions.ts), granted to
-- ADMIN and WAREHOUSE. Idempotent, like 20261124031500_identity_reference_data.
INSERT INTO "permissions" ("id", "key", "description") VALUES
  (gen_random_uuid(), 'SCHEDULING_READ', 'See employees, shifts, schedules and schedule solve jobs.'),
  (gen_random_uuid(), 'SCHEDULING_WRITE', 'Manage employees and shifts, generate and publish schedules.')
ON CONFLICT ("key") DO NOTHING;

INSERT INTO "role_permissions" ("role_id", "permission_id")
SELECT r."id", p."id" FROM (VALUES
  ('ADMIN', 'SCHEDULING_READ'),
  ('ADMIN', 'SCHEDULING_WRITE'),
  ('WAREHOUSE', 'SCHEDULING_READ'),
  ('WAREHOUSE', 'SCHEDULING_WRITE')
) AS grants(role_name, permission_key)
JOIN "roles" r ON r."name" = grants.role_name
JOIN "permissions" p ON p."key" = grants.permission_key
ON CONFLICT DO NOTHING;
