//! The Dockerfile parser against Docker's grammar and error messages.

use super::*;

fn one(text: &str) -> Command {
    let df = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(df.instructions.len(), 1, "{text:?}");
    df.instructions[0].command.clone()
}

#[test]
fn instruction_table() {
    use CommandLine::*;
    let s = |v: &str| v.to_string();
    let cases: Vec<(&str, Command)> = vec![
        (
            "FROM busybox",
            Command::From {
                image: s("busybox"),
                stage: None,
                platform: None,
            },
        ),
        (
            "from --platform=linux/amd64 busybox:1 AS Build",
            Command::From {
                image: s("busybox:1"),
                stage: Some(s("build")),
                platform: Some(s("linux/amd64")),
            },
        ),
        ("RUN echo hi", Command::Run(Shell(s("echo hi")))),
        (
            "RUN [\"echo\", \"hi\"]",
            Command::Run(Exec(vec![s("echo"), s("hi")])),
        ),
        // Not valid JSON: shell form, as Docker falls back.
        ("RUN [echo, hi]", Command::Run(Shell(s("[echo, hi]")))),
        ("CMD [\"sh\"]", Command::Cmd(Exec(vec![s("sh")]))),
        ("ENTRYPOINT top -b", Command::Entrypoint(Shell(s("top -b")))),
        (
            "COPY --chown=1:2 --chmod=600 a b /dst/",
            Command::Copy(CopyArgs {
                paths: vec![s("a"), s("b"), s("/dst/")],
                chown: Some(s("1:2")),
                chmod: Some(s("600")),
                from: None,
            }),
        ),
        (
            "COPY --from=build [\"/out dir/x\", \"/y\"]",
            Command::Copy(CopyArgs {
                paths: vec![s("/out dir/x"), s("/y")],
                from: Some(s("build")),
                ..Default::default()
            }),
        ),
        (
            "ADD a.tar /",
            Command::Add(CopyArgs {
                paths: vec![s("a.tar"), s("/")],
                ..Default::default()
            }),
        ),
        (
            "ENV A=1 B=\"two words\" C=x\\ y",
            Command::Env(vec![
                (s("A"), s("1")),
                (s("B"), s("\"two words\"")),
                (s("C"), s("x\\ y")),
            ]),
        ),
        (
            "ENV LEGACY some value here",
            Command::Env(vec![(s("LEGACY"), s("some value here"))]),
        ),
        (
            "LABEL \"com.example.a\"=\"x\" b=c",
            Command::Label(vec![(s("\"com.example.a\""), s("\"x\"")), (s("b"), s("c"))]),
        ),
        (
            "ARG V=1 W",
            Command::Arg(vec![(s("V"), Some(s("1"))), (s("W"), None)]),
        ),
        ("WORKDIR /app", Command::Workdir(s("/app"))),
        ("USER nobody:nogroup", Command::User(s("nobody:nogroup"))),
        ("VOLUME /a /b", Command::Volume(vec![s("/a"), s("/b")])),
        ("VOLUME [\"/data\"]", Command::Volume(vec![s("/data")])),
        (
            "EXPOSE 80 443/udp",
            Command::Expose(vec![s("80"), s("443/udp")]),
        ),
        (
            "SHELL [\"/bin/sh\", \"-ec\"]",
            Command::Shell(vec![s("/bin/sh"), s("-ec")]),
        ),
        ("STOPSIGNAL SIGQUIT", Command::StopSignal(s("SIGQUIT"))),
        ("HEALTHCHECK NONE", Command::Healthcheck(Health::Disable)),
        (
            "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost",
            Command::Healthcheck(Health::Check {
                test: vec![s("CMD-SHELL"), s("wget -q localhost")],
                interval: Some(Duration::from_secs(5)),
                timeout: None,
                start_period: None,
                retries: Some(3),
            }),
        ),
        (
            "HEALTHCHECK CMD [\"true\"]",
            Command::Healthcheck(Health::Check {
                test: vec![s("CMD"), s("true")],
                interval: None,
                timeout: None,
                start_period: None,
                retries: None,
            }),
        ),
        ("ONBUILD RUN echo x", Command::OnBuild(s("RUN echo x"))),
        ("MAINTAINER me", Command::Maintainer(s("me"))),
    ];
    for (text, expected) in cases {
        assert_eq!(one(text), expected, "{text}");
    }
}

#[test]
fn continuation_comments_and_blank_lines() {
    let df =
        parse("# a comment\n\nFROM busybox\nRUN echo a \\\n  # inside\n\n  && echo b\nCMD sh\n")
            .unwrap();
    assert_eq!(df.instructions.len(), 3);
    assert_eq!(df.instructions[1].line, 4);
    assert_eq!(df.instructions[1].original, "RUN echo a   && echo b");
    assert_eq!(df.instructions[2].line, 8);
}

#[test]
fn escape_directive() {
    let df = parse("# escape=`\nFROM busybox\nRUN echo a `\n b\\c\n").unwrap();
    assert_eq!(df.escape, '`');
    assert_eq!(
        df.instructions[1].command,
        Command::Run(CommandLine::Shell("echo a  b\\c".into()))
    );
    // After the first instruction it is just a comment.
    let df = parse("FROM busybox\n# escape=`\nRUN a \\\n b\n").unwrap();
    assert_eq!(df.escape, '\\');
    assert_eq!(df.instructions.len(), 2);
    assert!(parse("# escape=x\nFROM a\n").is_err());
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("FROM a\nFOO bar\n", 2, "unknown instruction: FOO"),
        ("FROM a\nRUN\n", 2, "RUN requires at least one argument"),
        (
            "FROM a\n\nCOPY x\n",
            3,
            "COPY requires at least two arguments",
        ),
        (
            "FROM a\nSHELL sh -c\n",
            2,
            "SHELL requires the arguments to be in JSON form",
        ),
        ("FROM a\nENV A\n", 2, "ENV must have two arguments"),
        ("FROM a\nENV A=1 B\n", 2, "can't find ="),
        ("FROM a\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD"),
        ("FROM a\nCOPY --nope=1 a b\n", 2, "Unknown flag: nope"),
        (
            "FROM a b\n",
            1,
            "FROM requires either one or three arguments",
        ),
        ("FROM a AS 1x\n", 1, "invalid name for build stage"),
        (
            "FROM a\nHEALTHCHECK --interval=x CMD true\n",
            2,
            "invalid duration",
        ),
    ];
    for (text, line, message) in cases {
        match parse(text) {
            Err(BuildError::Syntax {
                line: l,
                message: m,
            }) => {
                assert_eq!(l, line, "{text:?}");
                assert!(m.contains(message), "{text:?}: {m}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn parse_words_keeps_quotes_for_the_lexer() {
    assert_eq!(
        parse_words("a=\"b c\" d='e f' g\\ h", '\\'),
        vec!["a=\"b c\"", "d='e f'", "g\\ h"]
    );
    assert_eq!(parse_words("a=\"\"", '\\'), vec!["a=\"\""]);
}

#[test]
fn go_durations() {
    assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_go_duration("100ms"), Some(Duration::from_millis(100)));
    assert_eq!(parse_go_duration("10"), None);
    assert_eq!(parse_go_duration("s"), None);
}
