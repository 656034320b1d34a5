import AlloyLanguage
import Wire

/// One `stage.*` block of `loki.process`, decoded and checked. Equal configurations build equal stages, which is
/// how a reload knows which stages (and their state) to keep.
enum StageConfig: Sendable, Equatable {
    case cri(CRIStage.Config)
    case docker
    case labels(LabelsStage.Config)
    case staticLabels(StaticLabelsStage.Config)
    case labelFilter(LabelFilterStage.Config)
    case structuredMetadata(StructuredMetadataStage.Config)
    case output(OutputStage.Config)
    case regex(RegexStage.Config)
    case timestamp(TimestampStage.Config)
    case json(JSONStage.Config)
    case drop(DropStage.Config)
    case tenant(TenantStage.Config)
    case logfmt(LogfmtStage.Config)
    case pack(PackStage.Config)
    case decolorize
    case multiline(MultilineStage.Config)
    case limit(LimitStage.Config)
    indirect case match(MatchStage.Config)
    case template(TemplateStage.Config)
    case replace(ReplaceStage.Config)
    case metrics(MetricsStage.Config)

    /// The stage blocks this release knows, by block name.
    static let supported = [
        "stage.cri", "stage.decolorize", "stage.docker", "stage.drop", "stage.json", "stage.label_drop",
        "stage.label_keep", "stage.labels", "stage.limit", "stage.logfmt", "stage.match", "stage.metrics",
        "stage.multiline", "stage.output", "stage.pack", "stage.regex", "stage.replace", "stage.static_labels",
        "stage.structured_metadata", "stage.template", "stage.tenant", "stage.timestamp",
    ]

    /// Alloy's stages that are not here yet.
    static let notYet = [
        "stage.eventlogmessage", "stage.geoip", "stage.luhn", "stage.pattern", "stage.sampling",
        "stage.structured_metadata_drop", "stage.truncate", "stage.windowsevent",
    ]

    init(name: String, label: String?, reader: ArgumentReader) throws(Diagnostic) {
        if label != nil {
            throw reader.blockError("\(name) blocks take no label")
        }
        switch name {
        case "stage.cri": self = .cri(try CRIStage.Config(reader))
        case "stage.docker": self = .docker
        case "stage.labels": self = .labels(try LabelsStage.Config(reader))
        case "stage.static_labels": self = .staticLabels(try StaticLabelsStage.Config(reader))
        case "stage.label_drop": self = .labelFilter(try LabelFilterStage.Config(reader, keep: false))
        case "stage.label_keep": self = .labelFilter(try LabelFilterStage.Config(reader, keep: true))
        case "stage.structured_metadata": self = .structuredMetadata(try StructuredMetadataStage.Config(reader))
        case "stage.output": self = .output(try OutputStage.Config(reader))
        case "stage.regex": self = .regex(try RegexStage.Config(reader))
        case "stage.timestamp": self = .timestamp(try TimestampStage.Config(reader))
        case "stage.json": self = .json(try JSONStage.Config(reader))
        case "stage.drop": self = .drop(try DropStage.Config(reader))
        case "stage.tenant": self = .tenant(try TenantStage.Config(reader))
        case "stage.logfmt": self = .logfmt(try LogfmtStage.Config(reader))
        case "stage.pack": self = .pack(try PackStage.Config(reader))
        case "stage.decolorize": self = .decolorize
        case "stage.multiline": self = .multiline(try MultilineStage.Config(reader))
        case "stage.limit": self = .limit(try LimitStage.Config(reader))
        case "stage.match": self = .match(try MatchStage.Config(reader))
        case "stage.template": self = .template(try TemplateStage.Config(reader))
        case "stage.replace": self = .replace(try ReplaceStage.Config(reader))
        case "stage.metrics": self = .metrics(try MetricsStage.Config(reader))
        default:
            if Self.notYet.contains(name) {
                throw reader.blockError("\(name) is not supported yet by \(LokiProcess.name); supported stages: \(Self.supported.joined(separator: ", "))")
            }
            throw reader.blockError("unrecognized block name \(GoQuote.quote(name)) in \(LokiProcess.name); expected a stage block such as stage.cri or stage.labels")
        }
    }

    func makeStage(_ environment: StageEnvironment = .detached) -> any ProcessStage {
        switch self {
        case .cri(let config): CRIStage(config)
        case .docker: DockerStage()
        case .labels(let config): LabelsStage(config)
        case .staticLabels(let config): StaticLabelsStage(config)
        case .labelFilter(let config): LabelFilterStage(config)
        case .structuredMetadata(let config): StructuredMetadataStage(config)
        case .output(let config): OutputStage(config: config)
        case .regex(let config): RegexStage(config)
        case .timestamp(let config): TimestampStage(config)
        case .json(let config): JSONStage(config)
        case .drop(let config): DropStage(config)
        case .tenant(let config): TenantStage(config)
        case .logfmt(let config): LogfmtStage(config)
        case .pack(let config): PackStage(config)
        case .decolorize: DecolorizeStage()
        case .multiline(let config): MultilineStage(config)
        case .limit(let config): LimitStage(config)
        case .match(let config): MatchStage(config, environment: environment)
        case .template(let config): TemplateStage(config: config)
        case .replace(let config): ReplaceStage(config: config)
        case .metrics(let config): MetricsStage(config, environment: environment)
        }
    }
}
