//! sea-orm entities, one module per table: every table of the schema (`migrations/`).

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub email: String,
        pub password_hash: String,
        pub role: String,
        pub disabled: bool,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// Keyed digest of the token; the token itself is never stored.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub created_at: i64,
        pub expires_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod api_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub label: String,
        pub prefix: String,
        /// HMAC-SHA256 of the secret under the server secret, hex.
        pub digest: String,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
        pub revoked_at: Option<i64>,
        pub expires_at: Option<i64>,
        /// The digest before the last rotation, accepted until `previous_until`.
        pub previous_digest: Option<String>,
        pub previous_until: Option<i64>,
        pub rate_limit_per_second: Option<i32>,
        pub rate_limit_burst: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod oauth_client {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_clients")]
    pub struct Model {
        /// The `client_id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub label: String,
        /// HMAC-SHA256 of the secret under the server secret, hex.
        pub secret_digest: String,
        pub previous_digest: Option<String>,
        pub previous_until: Option<i64>,
        /// Space-separated.
        pub scopes: String,
        pub rate_limit_per_second: Option<i32>,
        pub rate_limit_burst: Option<i32>,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idempotency_claim {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_claims")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub integration_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub execution_id: String,
        pub claimed_at: i64,
        pub expires_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod seen_webhook {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "seen_webhooks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub integration_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sent_at: i64,
        pub seen_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod integration {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "integrations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub slug: String,
        pub name: String,
        pub enabled: bool,
        pub trigger_path: String,
        /// The published version.
        pub version: i64,
        /// The published document (JSON).
        pub document: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod integration_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "integration_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub integration_id: String,
        pub version: i64,
        pub document: String,
        /// The generated Rhai program, kept for inspection.
        pub source: String,
        pub created_by: Option<String>,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod integration_draft {
    use sea_orm::entity::prelude::*;

    /// The unpublished draft of an integration (at most one).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "integration_drafts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub integration_id: String,
        /// The draft document (JSON), valid or not.
        pub document: String,
        /// The draft's trigger path (normalised), to find drafts claiming a path.
        pub trigger_path: String,
        /// The published version it was started from (0: never published).
        pub based_on_version: i64,
        pub saved_by: Option<String>,
        pub saved_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod execution {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "executions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub integration_id: String,
        pub integration_slug: String,
        pub version: i64,
        pub mode: String,
        pub ordered: bool,
        pub sequence: Option<i64>,
        pub status: String,
        pub received_at: i64,
        pub started_at: Option<i64>,
        pub finished_at: Option<i64>,
        pub attempts: i32,
        pub lease_owner: Option<String>,
        pub lease_until: Option<i64>,
        pub next_attempt_at: Option<i64>,
        pub lane_key: String,
        pub replay_of: Option<String>,
        pub idempotency_key: Option<String>,
        pub request: String,
        pub response_status: Option<i32>,
        pub response: Option<String>,
        pub steps: Option<String>,
        pub logs: Option<String>,
        pub error: Option<String>,
        /// `key:<id>` or `client:<id>`: the credential the call came with.
        pub caller: Option<String>,
        /// That credential's label when the call came in.
        pub caller_label: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subscription {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub url: String,
        /// JSON array of patterns.
        pub event_types: String,
        pub description: String,
        pub enabled: bool,
        pub disabled_reason: Option<String>,
        /// JSON object.
        pub headers: String,
        pub rate_limit: Option<i32>,
        pub ordered: bool,
        pub secret: String,
        pub previous_secret: Option<String>,
        pub previous_secret_until: Option<i64>,
        pub failing_since: Option<i64>,
        pub last_success_at: Option<i64>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod delivery {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscription_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub subscription_id: String,
        pub event_id: String,
        pub event_type: String,
        pub body: String,
        pub ordered: bool,
        pub execution_id: Option<String>,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub lease_owner: Option<String>,
        pub lease_until: Option<i64>,
        pub last_status: Option<i32>,
        pub last_error: Option<String>,
        pub created_at: i64,
        pub finished_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod attempt {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delivery_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub delivery_id: String,
        pub attempt: i32,
        pub started_at: i64,
        pub duration_ms: i64,
        pub url: String,
        /// JSON object.
        pub request_headers: String,
        pub response_status: Option<i32>,
        pub response_excerpt: Option<String>,
        pub error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod secret {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Encrypted: `v1:` + base64(nonce || ciphertext).
        pub value: String,
        pub created_at: i64,
        pub updated_at: i64,
        /// Space-separated host patterns it may be sent to; empty: any.
        pub hosts: String,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Secret")
                .field("name", &self.name)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
