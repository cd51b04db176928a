CREATE TABLE `event_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`state` text NOT NULL,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`run_attempt_count` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_token` text,
	`lease_until` integer,
	`creation_date` integer NOT NULL,
	`change_date` integer NOT NULL,
	`delivery_date` integer,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `event_deliveries_state_next_attempt_at_idx` ON `event_deliveries` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `event_deliveries_creation_date_idx` ON `event_deliveries` (`creation_date`);--> statement-breakpoint
CREATE INDEX `event_deliveries_event_id_idx` ON `event_deliveries` (`event_id`);--> statement-breakpoint
CREATE TABLE `event_delivery_attempts` (
	`id` integer PRIMARY KEY NOT NULL,
	`delivery_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`target_id` text NOT NULL,
	`attempt_date` integer NOT NULL,
	`latency_ms` real NOT NULL,
	`http_status` integer,
	`error_kind` text,
	`error_message` text,
	FOREIGN KEY (`delivery_id`) REFERENCES `event_deliveries`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `event_delivery_attempts_delivery_id_idx` ON `event_delivery_attempts` (`delivery_id`);--> statement-breakpoint
CREATE TABLE `event_delivery_targets` (
	`delivery_id` text NOT NULL,
	`position` integer NOT NULL,
	`target_id` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`completion_date` integer,
	PRIMARY KEY(`delivery_id`, `position`),
	FOREIGN KEY (`delivery_id`) REFERENCES `event_deliveries`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `event_delivery_targets_target_id_idx` ON `event_delivery_targets` (`target_id`);--> statement-breakpoint
CREATE TABLE `event_sequences` (
	`aggregate_type` text NOT NULL,
	`aggregate_id` text NOT NULL,
	`sequence` integer NOT NULL,
	PRIMARY KEY(`aggregate_type`, `aggregate_id`)
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`instance_id` text NOT NULL,
	`aggregate_type` text NOT NULL,
	`aggregate_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`event_type` text NOT NULL,
	`resource_owner` text NOT NULL,
	`creator` text NOT NULL,
	`payload` text NOT NULL,
	`creation_date` integer NOT NULL
);
