CREATE TABLE `execution_targets` (
	`execution_id` text NOT NULL,
	`position` integer NOT NULL,
	`target_id` text NOT NULL,
	PRIMARY KEY(`execution_id`, `position`),
	FOREIGN KEY (`execution_id`) REFERENCES `executions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`target_id`) REFERENCES `targets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `execution_targets_target_id_idx` ON `execution_targets` (`target_id`);--> statement-breakpoint
CREATE TABLE `executions` (
	`id` text PRIMARY KEY NOT NULL,
	`creation_date` integer NOT NULL,
	`change_date` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `targets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`target_type` integer NOT NULL,
	`interrupt_on_error` integer DEFAULT false NOT NULL,
	`endpoint` text NOT NULL,
	`timeout_ms` integer NOT NULL,
	`payload_type` integer DEFAULT 0 NOT NULL,
	`signing_key` text NOT NULL,
	`creation_date` integer NOT NULL,
	`change_date` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `targets_name_unique` ON `targets` (`name`);--> statement-breakpoint
CREATE INDEX `targets_creation_date_idx` ON `targets` (`creation_date`);--> statement-breakpoint
CREATE INDEX `targets_change_date_idx` ON `targets` (`change_date`);