-- CreateTable
CREATE TABLE "employee_preferences" (
    "id" UUID NOT NULL,
    "employee_id" UUID NOT NULL,
    "weekday" INTEGER NOT NULL,
    "start_minute" INTEGER NOT NULL,
    "end_minute" INTEGER NOT NULL,

    CONSTRAINT "employee_preferences_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "employee_preferences_employee_id_weekday_idx" ON "employee_preferences"("employee_id", "weekday");

-- AddForeignKey
ALTER TABLE "employee_preferences" ADD CONSTRAINT "employee_preferences_employee_id_fkey" FOREIGN KEY ("employee_id") REFERENCES "employees"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Preference windows are kept valid by the database like availability windows (also in schema.extra.sql).
ALTER TABLE "employee_preferences" ADD CONSTRAINT "employee_preferences_window_valid" CHECK ("weekday" BETWEEN 1 AND 7 AND "start_minute" >= 0 AND "end_minute" <= 1440 AND "start_minute" < "end_minute");
