CREATE TABLE `instance_signing_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`algorithm` text NOT NULL,
	`private_key` text NOT NULL,
	`public_jwk` text NOT NULL,
	`creation_date` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `target_public_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`target_id` text NOT NULL,
	`active` integer DEFAULT false NOT NULL,
	`public_key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`expiration_date` integer,
	`creation_date` integer NOT NULL,
	`change_date` integer NOT NULL,
	FOREIGN KEY (`target_id`) REFERENCES `targets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `target_public_keys_target_id_idx` ON `target_public_keys` (`target_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `target_public_keys_active_idx` ON `target_public_keys` (`target_id`) WHERE "target_public_keys"."active" = 1;