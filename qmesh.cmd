@REM qmesh: the laptop mode's command on Windows (see README.md). On first use it builds what is
@REM missing with the Maven wrapper.
@echo off
setlocal
set "QMESH_HOME=%~dp0"
if "%QMESH_HOME:~-1%"=="\" set "QMESH_HOME=%QMESH_HOME:~0,-1%"
set MISSING=
for %%J in (cli\target\qmesh-cli.jar pilot\target\quarkus-app\quarkus-run.jar sidecar\target\quarkus-app\quarkus-run.jar ingress-gateway\target\quarkus-app\quarkus-run.jar egress-gateway\target\quarkus-app\quarkus-run.jar bookinfo\details\target\quarkus-app\quarkus-run.jar bookinfo\ratings\target\quarkus-app\quarkus-run.jar bookinfo\reviews\target\quarkus-app\quarkus-run.jar bookinfo\productpage\target\quarkus-app\quarkus-run.jar) do (
  if not exist "%QMESH_HOME%\%%J" set MISSING=1
)
if defined MISSING (
  echo qmesh: first use: building qmesh with the Maven wrapper ^(a few minutes^) 1>&2
  pushd "%QMESH_HOME%"
  call mvnw.cmd -B -q package -DskipTests -pl cli,pilot,sidecar,ingress-gateway,egress-gateway,bookinfo/details,bookinfo/ratings,bookinfo/reviews,bookinfo/productpage -am 1>&2
  if errorlevel 1 exit /b 1
  popd
)
set "JAVA=java"
if defined JAVA_HOME set "JAVA=%JAVA_HOME%\bin\java"
"%JAVA%" -XX:TieredStopAtLevel=1 -Dqmesh.home="%QMESH_HOME%" -jar "%QMESH_HOME%\cli\target\qmesh-cli.jar" %*
